import { describe, expect, it } from "vitest";
import { defaultServiceName, tracingWanted } from "./telemetry-sdk.js";

describe("tracingWanted", () => {
  it("is off when no exporter or endpoint is set, so a service without a collector exports nothing", () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toBe(false);
  });

  it("is on with an OTLP endpoint for all signals or for traces", () => {
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })).toBe(
      true,
    );
  });

  it("follows OTEL_TRACES_EXPORTER, `none` meaning off", () => {
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: "console" })).toBe(true);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: "otlp,console" })).toBe(true);
    expect(
      tracingWanted({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c" }),
    ).toBe(false);
  });

  it("is off whenever OTEL_SDK_DISABLED is true", () => {
    expect(
      tracingWanted({ OTEL_SDK_DISABLED: "TRUE", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }),
    ).toBe(false);
  });
});

describe("defaultServiceName", () => {
  it("is the folder of the service's main module", () => {
    expect(defaultServiceName("/app/services/queryd/main.ts")).toBe("queryd");
    expect(defaultServiceName("services/gateway/main.js")).toBe("gateway");
  });

  it("falls back to lakehouse for anything else", () => {
    expect(defaultServiceName(undefined)).toBe("lakehouse");
    expect(defaultServiceName("/usr/lib/node_modules/vitest/cli.js")).toBe("lakehouse");
  });
});
