import { context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { shutdownTelemetry, startTelemetry } from "./telemetry-sdk.js";
import { inSpan, lakehouseTracer } from "./tracer.js";

beforeAll(async () => {
  await startTelemetry({
    serviceName: "trace-fields-test",
    overrides: {
      spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
      autoDetectResources: false,
    },
  });
});

afterAll(() => shutdownTelemetry());

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "debug",
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { lines, logger };
}

describe("log lines and traces", () => {
  it("carry trace_id and span_id of the span active where they are logged", async () => {
    const { lines, logger } = capture();
    let ids = { traceId: "", spanId: "" };
    await inSpan("work", {}, async (span) => {
      ids = span.spanContext();
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.child({ part: "x" }).info("inside");
    });
    expect(lines[0]).toMatchObject({ msg: "inside", trace_id: ids.traceId, span_id: ids.spanId });
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("carry no trace fields outside any span", () => {
    const { lines, logger } = capture();
    logger.info("outside");
    expect(lines[0]).not.toHaveProperty("trace_id");
    expect(lines[0]).not.toHaveProperty("span_id");
  });

  it("name the innermost span when spans nest", () => {
    const { lines, logger } = capture();
    const outer = lakehouseTracer().startSpan("outer");
    const inner = lakehouseTracer().startSpan("inner", {}, trace.setSpan(context.active(), outer));
    context.with(trace.setSpan(context.active(), inner), () => logger.warn("nested"));
    expect(lines[0]?.span_id).toBe(inner.spanContext().spanId);
    expect(lines[0]?.trace_id).toBe(outer.spanContext().traceId);
    inner.end();
    outer.end();
  });
});
