import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putObject } from "../services/storaged/client.js";
import { gatewayClients } from "./support/gateway-clients.js";
import { type OtlpReceiver, startOtlpReceiver } from "./support/otlp-receiver.js";
import { type OtlpSpan, SpanKindOtlp } from "./support/otlp-trace-decoder.js";
import { type RunningSystem, startSystem } from "./support/system.js";

const services = ["storaged", "catalogd", "queryd", "aibridge", "gateway"] as const;

let receiver: OtlpReceiver;
let system: RunningSystem;
let clients: ReturnType<typeof gatewayClients>;
let queryId = "";
let rowCount = 0n;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  };
  system = await startSystem(Object.fromEntries(services.map((name) => [name, otel])));
  // Every call carries the system's admin token, which must appear in no span and no log line.
  clients = gatewayClients(system.gateway.url);
  const csv = "region,amount\nnorth,10\nsouth,20\nnorth,5\n";
  await putObject(clients.storage, "uploads/trace.csv", new TextEncoder().encode(csv), {});
  await clients.catalog.ingestObject({
    dataset: "traced",
    sourceKey: "uploads/trace.csv",
    createIfMissing: true,
  });
  const sql = "SELECT region, sum(amount) AS total FROM traced GROUP BY region ORDER BY region";
  for await (const response of clients.query.executeQuery({ sql })) {
    if (response.payload.case === "header") queryId = response.payload.value.queryId;
    if (response.payload.case === "summary") rowCount = response.payload.value.rowCount;
  }
  // Each service exports on its own schedule: wait until every one has sent
  // its part of the query's trace, the gateway's (which ends last) included.
  await receiver.waitFor((spans) => {
    const duckdb = spans.find(
      (span) => span.name === "duckdb.query" && span.attributes["lakehouse.query.id"] === queryId,
    );
    if (duckdb === undefined) return false;
    const services = new Set(
      spans.filter((span) => span.traceId === duckdb.traceId).map((span) => span.service),
    );
    return ["gateway", "queryd", "catalogd", "storaged"].every((name) => services.has(name));
  });
}, 120_000);

afterAll(async () => {
  const codes = await system?.stop();
  await receiver?.close();
  expect(Object.values(codes ?? {})).toEqual([0, 0, 0, 0, 0]);
});

/** The spans of one trace, found by a span in it. */
function traceOf(anchor: OtlpSpan): OtlpSpan[] {
  return receiver.spans.filter((span) => span.traceId === anchor.traceId);
}

function only(
  spans: OtlpSpan[],
  match: Partial<Pick<OtlpSpan, "service" | "name" | "kind" | "parentSpanId">>,
): OtlpSpan {
  const found = spans.filter((span) =>
    Object.entries(match).every(([key, value]) => span[key as keyof OtlpSpan] === value),
  );
  expect(found, JSON.stringify(match)).toHaveLength(1);
  return found[0] as OtlpSpan;
}

function childrenOf(spans: OtlpSpan[], parent: OtlpSpan): OtlpSpan[] {
  return spans.filter((span) => span.parentSpanId === parent.spanId);
}

describe("one query through the gateway", () => {
  const executeQuery = "lakehouse.query.v1.QueryService/ExecuteQuery";

  it("is one trace: gateway → queryd → catalogd → storaged, each server span the child of its caller's client span", () => {
    const duckdb = receiver.spans.find(
      (span) => span.name === "duckdb.query" && span.attributes["lakehouse.query.id"] === queryId,
    );
    expect(duckdb).toBeDefined();
    const trace = traceOf(duckdb as OtlpSpan);
    expect(new Set(trace.map((span) => span.service))).toEqual(
      new Set(["gateway", "queryd", "catalogd", "storaged"]),
    );

    const gatewayServer = only(trace, {
      service: "gateway",
      name: executeQuery,
      kind: SpanKindOtlp.server,
    });
    expect(gatewayServer.parentSpanId).toBe("");
    const gatewayClient = only(trace, {
      service: "gateway",
      name: executeQuery,
      kind: SpanKindOtlp.client,
    });
    expect(gatewayClient.parentSpanId).toBe(gatewayServer.spanId);
    const querydServer = only(trace, {
      service: "queryd",
      name: executeQuery,
      kind: SpanKindOtlp.server,
    });
    expect(querydServer.parentSpanId).toBe(gatewayClient.spanId);

    const resolve = only(trace, { service: "queryd", name: "query.resolve" });
    expect(resolve.parentSpanId).toBe(querydServer.spanId);
    const execution = only(trace, { service: "queryd", name: "duckdb.query" });
    expect(execution.parentSpanId).toBe(querydServer.spanId);

    const getDataset = "lakehouse.catalog.v1.CatalogService/GetDataset";
    const catalogClient = only(trace, {
      service: "queryd",
      name: getDataset,
      kind: SpanKindOtlp.client,
    });
    expect(catalogClient.parentSpanId).toBe(resolve.spanId);
    const catalogServer = only(trace, {
      service: "catalogd",
      name: getDataset,
      kind: SpanKindOtlp.server,
    });
    expect(catalogServer.parentSpanId).toBe(catalogClient.spanId);

    // Every storaged call in the trace answers a client span of its caller, in this trace.
    const storagedServers = trace.filter(
      (span) => span.service === "storaged" && span.kind === SpanKindOtlp.server,
    );
    expect(storagedServers.length).toBeGreaterThan(0);
    for (const server of storagedServers) {
      const caller = trace.find((span) => span.spanId === server.parentSpanId);
      expect(caller?.kind).toBe(SpanKindOtlp.client);
      expect(caller?.name).toBe(server.name);
      expect(["queryd", "catalogd"]).toContain(caller?.service);
    }
    // catalogd reads the dataset's manifest from storaged inside GetDataset.
    const catalogReads = trace.filter(
      (span) => span.service === "catalogd" && span.kind === SpanKindOtlp.client,
    );
    expect(catalogReads.length).toBeGreaterThan(0);
    for (const read of catalogReads) {
      expect(read.name.startsWith("lakehouse.storage.v1.StorageService/")).toBe(true);
    }
    // Each storaged server span holds its backend call.
    for (const server of storagedServers) {
      const backendCalls = childrenOf(trace, server).filter((span) =>
        span.name.startsWith("storage."),
      );
      expect(backendCalls, server.name).toHaveLength(1);
    }
  });

  it("records the cache miss, the fetch from storaged and the DuckDB execution", () => {
    const execution = receiver.spans.find(
      (span) => span.name === "duckdb.query" && span.attributes["lakehouse.query.id"] === queryId,
    ) as OtlpSpan;
    const trace = traceOf(execution);
    expect(execution.attributes["db.system.name"]).toBe("duckdb");
    expect(execution.attributes["db.response.returned_rows"]).toBe(rowCount);
    expect(Number(execution.attributes["lakehouse.query.bytes"])).toBeGreaterThan(0);
    expect(execution.attributes["lakehouse.query.datasets"]).toEqual(["traced@1"]);
    expect(Object.values(execution.attributes)).not.toContain(
      "SELECT region, sum(amount) AS total FROM traced GROUP BY region ORDER BY region",
    );

    const resolve = only(trace, { service: "queryd", name: "query.resolve" });
    const acquire = only(trace, { service: "queryd", name: "file-cache.acquire" });
    expect(acquire.parentSpanId).toBe(resolve.spanId);
    expect(acquire.attributes["lakehouse.cache.misses"]).toBe(1n);
    expect(acquire.attributes["lakehouse.cache.hits"]).toBe(0n);
    const fetch = only(trace, { service: "queryd", name: "file-cache.fetch" });
    expect(fetch.parentSpanId).toBe(acquire.spanId);
    const getObject = "lakehouse.storage.v1.StorageService/GetObject";
    const download = only(trace, { service: "queryd", name: getObject, kind: SpanKindOtlp.client });
    expect(download.parentSpanId).toBe(fetch.spanId);
    const served = only(trace, {
      service: "storaged",
      name: getObject,
      parentSpanId: download.spanId,
    });
    const backendGet = only(trace, {
      service: "storaged",
      name: "storage.get",
      parentSpanId: served.spanId,
    });
    expect(backendGet.attributes["lakehouse.storage.key"]).toBe(
      fetch.attributes["lakehouse.storage.key"],
    );
    expect(backendGet.attributes["lakehouse.storage.size"]).toBe(
      BigInt(Number(fetch.attributes["lakehouse.storage.size"])),
    );
  });

  it("puts RPC semantic-convention attributes on the RPC spans", () => {
    const gatewayServer = receiver.spans.find(
      (span) =>
        span.service === "gateway" &&
        span.name === executeQuery &&
        span.kind === SpanKindOtlp.server,
    ) as OtlpSpan;
    expect(gatewayServer.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "lakehouse.query.v1.QueryService",
      "rpc.method": "ExecuteQuery",
      "rpc.grpc.status_code": 0n,
      "server.address": "127.0.0.1",
    });
    const upstream = childrenOf(traceOf(gatewayServer), gatewayServer)[0] as OtlpSpan;
    expect(upstream.attributes["server.port"]).toBe(BigInt(Number(system.queryd.url.port)));
  });

  it("logs the query's line with the trace and span of its server call", () => {
    const line = system.queryd.logs.find(
      (entry) => entry.msg === "query finished" && entry.queryId === queryId,
    );
    const querydServer = receiver.spans.find(
      (span) =>
        span.service === "queryd" &&
        span.name === executeQuery &&
        span.kind === SpanKindOtlp.server,
    ) as OtlpSpan;
    expect(line?.trace_id).toBe(querydServer.traceId);
    expect(line?.span_id).toBe(querydServer.spanId);
  });
});

describe("an ingest through the gateway", () => {
  it("is one trace with the conversion, the commit and the storage writes", () => {
    const ingest = receiver.spans.find((span) => span.name === "catalog.ingest") as OtlpSpan;
    expect(ingest.attributes["lakehouse.dataset"]).toBe("traced");
    const trace = traceOf(ingest);
    const gatewayServer = only(trace, {
      service: "gateway",
      name: "lakehouse.catalog.v1.CatalogService/IngestObject",
      kind: SpanKindOtlp.server,
    });
    expect(gatewayServer.parentSpanId).toBe("");
    const convert = only(trace, { service: "catalogd", name: "catalog.convert" });
    expect(convert.parentSpanId).toBe(ingest.spanId);
    expect(convert.attributes["lakehouse.source.format"]).toBe("CSV");
    const commit = only(trace, { service: "catalogd", name: "catalog.commit" });
    expect(commit.parentSpanId).toBe(ingest.spanId);
    const puts = trace.filter((span) => span.service === "storaged" && span.name === "storage.put");
    expect(puts.length).toBeGreaterThanOrEqual(2);
  });
});

describe("secrets", () => {
  it("never puts the bearer token in an exported span or a log line", () => {
    expect(receiver.bodies.length).toBeGreaterThan(0);
    // The signature alone is enough to misuse a token: look for it as well as the whole.
    const token = system.adminToken;
    const needles = [token, token.slice(token.lastIndexOf(".") + 1)];
    expect(needles[1]?.length).toBeGreaterThan(20);
    for (const needle of needles) {
      for (const body of receiver.bodies) expect(Buffer.from(body).includes(needle)).toBe(false);
      for (const name of services) {
        for (const entry of system[name].logs) expect(JSON.stringify(entry)).not.toContain(needle);
      }
    }
  });

  it("exports traces only: no metrics or log exports are attempted", () => {
    expect(receiver.otherPaths).toEqual([]);
  });
});
