import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { StorageService } from "../../../gen/lakehouse/storage/v1/storage_pb.js";
import { serviceError } from "../errors.js";
import { createInternalTransport } from "../internal-transport.js";
import { createLogger } from "../logger.js";
import { createServiceServer, registration, type ServiceServer } from "../server.js";
import { shutdownTelemetry, startTelemetry } from "./telemetry-sdk.js";
import { inSpan, lakehouseTracer } from "./tracer.js";

const exporter = new InMemorySpanExporter();
const settings = {
  listen: "127.0.0.1:0",
  logLevel: "error" as const,
  maxMessageBytes: 1024 * 1024,
  maxConcurrentStreams: 100,
  maxHeaderBytes: 16 * 1024,
  drainTimeoutMs: 5_000,
};

/** Lets the test hold a server stream open between messages. */
let releaseStream: () => void = () => {};
let server: ServiceServer;
let baseUrl: string;

beforeAll(async () => {
  await startTelemetry({
    serviceName: "rpc-tracing-test",
    overrides: {
      spanProcessors: [new SimpleSpanProcessor(exporter)],
      autoDetectResources: false,
    },
  });
  server = createServiceServer({
    services: [
      registration(StorageService, {
        headObject(request) {
          if (request.key === "missing")
            throw serviceError(Code.NotFound, "OBJECT_NOT_FOUND", "no");
          if (request.key === "broken") throw new Error("unexpected");
          return { object: { key: request.key } };
        },
        async *getObject(request) {
          yield { chunk: new Uint8Array([1]) };
          await new Promise<void>((resolve) => {
            releaseStream = resolve;
          });
          await inSpan("produce", {}, async () => {});
          if (request.key === "fail-midway") throw serviceError(Code.DataLoss, "BROKEN", "lost");
          yield { chunk: new Uint8Array([2]) };
        },
        async putObject(requests) {
          let parts = 0;
          for await (const _ of requests) parts++;
          return { object: { key: `parts-${parts}` } };
        },
      }),
    ],
    settings,
    logger: createLogger({ level: "error", write: () => {} }),
  });
  baseUrl = (await server.start()).origin;
});

afterAll(async () => {
  await server.shutdown();
  await shutdownTelemetry();
});

afterEach(() => exporter.reset());

const tracedClient = () =>
  createClient(StorageService, createInternalTransport(baseUrl, { maxMessageBytes: 1 << 20 }));

function finished(name: string, kind: SpanKind): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.name === name && span.kind === kind);
}

/** Server spans end after the client has its answer; waits briefly for them. */
async function eventually(check: () => void): Promise<void> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

const head = "lakehouse.storage.v1.StorageService/HeadObject";
const get = "lakehouse.storage.v1.StorageService/GetObject";
const put = "lakehouse.storage.v1.StorageService/PutObject";

describe("RPC tracing interceptors", () => {
  it("make a client span under the caller's span and a server span under the client span, in one trace", async () => {
    const root = lakehouseTracer().startSpan("caller");
    await context.with(trace.setSpan(context.active(), root), () =>
      tracedClient().headObject({ key: "k" }),
    );
    root.end();
    await eventually(() => expect(finished(head, SpanKind.SERVER)).toHaveLength(1));
    const [client] = finished(head, SpanKind.CLIENT);
    const [served] = finished(head, SpanKind.SERVER);
    expect(client?.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(served?.parentSpanContext?.spanId).toBe(client?.spanContext().spanId);
    expect(served?.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(served?.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "lakehouse.storage.v1.StorageService",
      "rpc.method": "HeadObject",
      "rpc.grpc.status_code": 0,
      "server.address": "127.0.0.1",
      "server.port": Number(new URL(baseUrl).port),
    });
  });

  it("continue the trace an incoming traceparent names", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const plain = createClient(StorageService, createGrpcTransport({ baseUrl }));
    await plain.headObject(
      { key: "k" },
      { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } },
    );
    await eventually(() => expect(finished(head, SpanKind.SERVER)).toHaveLength(1));
    const [served] = finished(head, SpanKind.SERVER);
    expect(served?.spanContext().traceId).toBe(traceId);
    expect(served?.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(served?.parentSpanContext?.isRemote).toBe(true);
  });

  it("write the client span into the outgoing traceparent", async () => {
    let seen: string | null = null;
    const client = createClient(
      StorageService,
      createInternalTransport(baseUrl, {
        maxMessageBytes: 1 << 20,
        interceptors: [
          (next) => async (request) => {
            seen = request.header.get("traceparent");
            return next(request);
          },
        ],
      }),
    );
    await client.headObject({ key: "k" });
    const [span] = finished(head, SpanKind.CLIENT);
    const ids = span?.spanContext();
    expect(seen).toBe(`00-${ids?.traceId}-${ids?.spanId}-01`);
  });

  it("end a server-streaming call's spans only when the stream ends, with the handler's work inside", async () => {
    const stream = tracedClient().getObject({ key: "k" })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.chunk).toEqual(new Uint8Array([1]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(finished(get, SpanKind.CLIENT)).toHaveLength(0);
    expect(finished(get, SpanKind.SERVER)).toHaveLength(0);
    releaseStream();
    expect((await stream.next()).value?.chunk).toEqual(new Uint8Array([2]));
    expect((await stream.next()).done).toBe(true);
    await eventually(() => expect(finished(get, SpanKind.SERVER)).toHaveLength(1));
    expect(finished(get, SpanKind.CLIENT)).toHaveLength(1);
    const [served] = finished(get, SpanKind.SERVER);
    const [produce] = exporter.getFinishedSpans().filter((span) => span.name === "produce");
    expect(produce?.parentSpanContext?.spanId).toBe(served?.spanContext().spanId);
    expect(served?.attributes["rpc.grpc.status_code"]).toBe(0);
  });

  it("end the client span when the caller cancels the stream", async () => {
    const cancel = new AbortController();
    for await (const _ of tracedClient().getObject({ key: "k" }, { signal: cancel.signal })) break;
    cancel.abort();
    const [span] = finished(get, SpanKind.CLIENT);
    expect(span?.attributes["rpc.grpc.status_code"]).toBe(Code.Canceled);
    releaseStream();
    await eventually(() => expect(finished(get, SpanKind.SERVER)).toHaveLength(1));
  });

  it("trace client-streaming calls until the answer arrives", async () => {
    async function* parts() {
      yield { part: { case: "header" as const, value: { key: "k" } } };
      yield { part: { case: "chunk" as const, value: new Uint8Array([1]) } };
    }
    const answer = await tracedClient().putObject(parts());
    expect(answer.object?.key).toBe("parts-2");
    expect(finished(put, SpanKind.CLIENT)).toHaveLength(1);
    await eventually(() => expect(finished(put, SpanKind.SERVER)).toHaveLength(1));
  });

  it("record an error code: ERROR on the client always, on the server only for server faults", async () => {
    await expect(tracedClient().headObject({ key: "missing" })).rejects.toThrow();
    await expect(tracedClient().headObject({ key: "broken" })).rejects.toThrow();
    await eventually(() => expect(finished(head, SpanKind.SERVER)).toHaveLength(2));
    const byCode = (kind: SpanKind, code: Code) =>
      finished(head, kind).find((span) => span.attributes["rpc.grpc.status_code"] === code);
    expect(byCode(SpanKind.CLIENT, Code.NotFound)?.status.code).toBe(SpanStatusCode.ERROR);
    expect(byCode(SpanKind.SERVER, Code.NotFound)?.status.code).toBe(SpanStatusCode.UNSET);
    expect(byCode(SpanKind.SERVER, Code.Internal)?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: "internal error",
    });
    expect(byCode(SpanKind.CLIENT, Code.Internal)?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("record an error raised in the middle of a stream when the stream ends", async () => {
    const reading = (async () => {
      for await (const _ of tracedClient().getObject({ key: "fail-midway" })) releaseStream();
    })();
    await expect(reading).rejects.toThrow("lost");
    await eventually(() => expect(finished(get, SpanKind.SERVER)).toHaveLength(1));
    for (const kind of [SpanKind.SERVER, SpanKind.CLIENT]) {
      const [span] = finished(get, kind);
      expect(span?.attributes["rpc.grpc.status_code"]).toBe(Code.DataLoss);
      expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    }
  });

  it("name Connect-protocol calls connect_rpc with the Connect error code", async () => {
    const connect = createClient(
      StorageService,
      createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    );
    await expect(connect.headObject({ key: "missing" })).rejects.toThrow();
    await eventually(() => expect(finished(head, SpanKind.SERVER)).toHaveLength(1));
    const [served] = finished(head, SpanKind.SERVER);
    expect(served?.attributes["rpc.system"]).toBe("connect_rpc");
    expect(served?.attributes["rpc.connect_rpc.error_code"]).toBe("not_found");
  });

  it("leave health checks untraced", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl }));
    await health.check({ service: "" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("never copy request headers into span attributes", async () => {
    await tracedClient().headObject(
      { key: "k" },
      { headers: { authorization: "Bearer secret-token-value" } },
    );
    await eventually(() => expect(finished(head, SpanKind.SERVER)).toHaveLength(1));
    const everything = JSON.stringify(exporter.getFinishedSpans().map((span) => span.attributes));
    expect(everything).not.toContain("secret-token-value");
    expect(everything).not.toContain("authorization");
  });
});
