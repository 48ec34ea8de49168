import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import {
  GetObjectRequestSchema,
  GetObjectResponseSchema,
  HeadObjectRequestSchema,
  HeadObjectResponseSchema,
  type PutObjectRequest,
  PutObjectRequestSchema,
  StorageService,
} from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { errorReason } from "../kit/errors.js";
import type { ServiceServer } from "../kit/server.js";
import {
  CHUNK_BYTES,
  type FixtureUpstreams,
  fixtureChunk,
  startFixtureUpstreams,
} from "./testing/fixture-upstreams.js";
import { createTestAuth, type TestAuth } from "./testing/test-auth.js";
import { startTestGateway } from "./testing/test-gateway.js";

const run = promisify(execFile);
const servers: ServiceServer[] = [];
let upstreams: FixtureUpstreams;
let gateway: URL;
let auth: TestAuth;
/** A token with every scope and every dataset. */
let token: string;

/** Starts a gateway in-process, built exactly as main.ts builds it. */
async function startGateway(settings: Record<string, unknown>): Promise<URL> {
  const { url, server } = await startTestGateway(settings, {
    keys: auth.keys,
    internalAuth: auth.gatewayInternalAuth,
  });
  servers.push(server);
  return url;
}

/** Polls until `condition` holds or `timeoutMs` passes. */
async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const grpcClient = <T extends Parameters<typeof createClient>[0]>(service: T, url = gateway) =>
  createClient(
    service,
    createGrpcTransport({
      baseUrl: url.origin,
      acceptCompression: [],
      interceptors: [auth.bearer(token)],
    }),
  );

/** Upstreams that check the gateway's internal credential, as the real services do. */
const startCheckingUpstreams = () =>
  startFixtureUpstreams([auth.upstreamInternalAuth.serverInterceptor]);

beforeAll(async () => {
  auth = await createTestAuth();
  token = await auth.token();
  upstreams = await startCheckingUpstreams();
  gateway = await startGateway(upstreams.urls);
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.shutdown()));
  await upstreams.shutdown();
});

describe("gateway over gRPC (connect-node, h2c)", () => {
  it("forwards each public service's calls to the service that owns it", async () => {
    const head = await grpcClient(StorageService).headObject({ key: "a/b" });
    expect(head.object?.key).toBe("a/b");
    const dataset = await grpcClient(CatalogService).getDataset({ name: "trips" });
    expect(dataset.dataset?.name).toBe("catalogd:trips");
    const plan = await grpcClient(QueryService).explainQuery({ sql: "select 1" });
    expect(plan.plan).toBe("plan for select 1");
    const models = await grpcClient(AiService).listModels({});
    expect(models.models.map((m) => m.name)).toEqual(["aibridge:fixture"]);
  });

  it("passes request headers on (the caller's token replaced by an internal one) and brings response headers and trailers back", async () => {
    let header = new Headers();
    let trailer = new Headers();
    const answer = await grpcClient(StorageService).headObject(
      { key: "k" },
      {
        headers: {
          traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          tracestate: "vendor=1",
          "x-request-id": "req-42",
          "x-custom": "custom-value",
        },
        onHeader: (h) => {
          header = h;
        },
        onTrailer: (t) => {
          trailer = t;
        },
      },
    );
    const seen = upstreams.probe.lastHeaders;
    expect(seen?.get("authorization")).toMatch(/^Bearer /);
    expect(seen?.get("authorization")).not.toContain(token);
    expect(upstreams.probe.lastIdentity).toEqual({
      subject: "tester",
      scopes: expect.arrayContaining(["storage.read", "query"]),
      datasets: ["*"],
    });
    expect(seen?.get("traceparent")).toBe(
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    );
    expect(seen?.get("tracestate")).toBe("vendor=1");
    expect(seen?.get("x-request-id")).toBe("req-42");
    expect(answer.object?.contentType).toBe("custom-value");
    expect(header.get("x-upstream-header")).toBe("from-storaged");
    expect(header.get("x-request-id")).toBe("req-42");
    expect(header.get("content-type")).toBe("application/grpc+proto");
    expect(trailer.get("x-upstream-trailer")).toBe("done");
    expect(trailer.get("grpc-status")).toBe("0");
  });

  it("gives a call without an acceptable request id a fresh one, on both sides", async () => {
    let header = new Headers();
    await grpcClient(StorageService).headObject(
      { key: "k" },
      { headers: { "x-request-id": "not acceptable" }, onHeader: (h) => (header = h) },
    );
    const id = upstreams.probe.lastHeaders?.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(header.get("x-request-id")).toBe(id);
  });

  it("hands the client's remaining deadline to the service, and the default when there is none", async () => {
    await grpcClient(QueryService).explainQuery({ sql: "x" }, { timeoutMs: 5_000 });
    expect(upstreams.probe.lastTimeoutMs).toBeLessThanOrEqual(5_000);
    expect(upstreams.probe.lastTimeoutMs).toBeGreaterThan(4_000);
    await grpcClient(QueryService).explainQuery({ sql: "x" });
    expect(upstreams.probe.lastTimeoutMs).toBeLessThanOrEqual(600_000);
    expect(upstreams.probe.lastTimeoutMs).toBeGreaterThan(599_000);
  });

  it("cuts a deadline longer than the maximum, and ends a call without one at the default", async () => {
    const bounded = await startGateway({
      ...upstreams.urls,
      deadline: { defaultTimeoutMs: 300, maxTimeoutMs: 2_000 },
    });
    await grpcClient(QueryService, bounded).explainQuery({ sql: "x" }, { timeoutMs: 60_000 });
    expect(upstreams.probe.lastTimeoutMs).toBeLessThanOrEqual(2_000);
    expect(upstreams.probe.lastTimeoutMs).toBeGreaterThan(1_000);
    const started = performance.now();
    const error = await (async () => {
      for await (const _ of grpcClient(QueryService, bounded).executeQuery({ sql: "s" })) {
      }
    })().catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - started).toBeLessThan(2_000);
    const plan = await grpcClient(QueryService, bounded).explainQuery({ sql: "after" });
    expect(plan.plan).toBe("plan for after");
  });

  it("passes a service's error on with its code, message and ErrorDetail", async () => {
    const error = await grpcClient(StorageService)
      .headObject({ key: "missing" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.NotFound);
    expect((error as ConnectError).rawMessage).toBe("no object at missing");
    expect(errorReason(error)).toBe("OBJECT_NOT_FOUND");
  });

  it("streams a 20 MiB object in order, pulling from the service only as the client reads", async () => {
    const total = 20;
    upstreams.probe.chunksProduced = 0;
    const stream = grpcClient(StorageService)
      .getObject({ key: "big", length: BigInt(total * CHUNK_BYTES) })
      [Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.done).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const producedWhilePaused = upstreams.probe.chunksProduced;
    const received = [first.value.chunk];
    for (let next = await stream.next(); !next.done; next = await stream.next()) {
      received.push(next.value.chunk);
    }
    expect(producedWhilePaused).toBeLessThan(total);
    expect(received.length).toBe(total);
    received.forEach((chunk, index) => {
      expect(Buffer.from(chunk).equals(Buffer.from(fixtureChunk(index)))).toBe(true);
    });
  });

  it("streams a 20 MiB upload in order, the client sending only as the service reads", async () => {
    const total = 20;
    let release: () => void = () => {};
    upstreams.probe.chunksConsumed = 0;
    upstreams.probe.holdPut = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sent = 0;
    const expected = createHash("sha256");
    async function* requests(): AsyncGenerator<PutObjectRequest> {
      yield create(PutObjectRequestSchema, { part: { case: "header", value: { key: "up" } } });
      for (let index = 0; index < total; index++) {
        const chunk = fixtureChunk(index);
        expected.update(chunk);
        sent = index + 1;
        yield create(PutObjectRequestSchema, { part: { case: "chunk", value: chunk } });
      }
    }
    const answer = grpcClient(StorageService).putObject(requests());
    await waitFor(() => upstreams.probe.chunksConsumed > 0, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sentWhileHeld = sent;
    release();
    const response = await answer;
    upstreams.probe.holdPut = undefined;
    expect(sentWhileHeld).toBeLessThan(total);
    expect(response.object?.size).toBe(BigInt(total * CHUNK_BYTES));
    expect(response.object?.sha256).toBe(expected.digest("hex"));
  });

  it("ends the service's stream within a second when the client cancels", async () => {
    upstreams.probe.queryAbortedAt = undefined;
    const controller = new AbortController();
    let cancelledAt = 0;
    let received = 0;
    const error = await (async () => {
      const query = grpcClient(QueryService).executeQuery(
        { sql: "s" },
        { signal: controller.signal },
      );
      for await (const _ of query) {
        received += 1;
        if (received === 2) {
          cancelledAt = performance.now();
          controller.abort();
        }
      }
    })().catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.Canceled);
    await waitFor(() => upstreams.probe.queryAbortedAt !== undefined, 1_000);
    expect((upstreams.probe.queryAbortedAt ?? Infinity) - cancelledAt).toBeLessThan(1_000);
  });

  it("ends the service's stream when the client's deadline passes", async () => {
    upstreams.probe.queryAbortedAt = undefined;
    const started = performance.now();
    const error = await (async () => {
      for await (const _ of grpcClient(QueryService).executeQuery(
        { sql: "s" },
        { timeoutMs: 300 },
      )) {
      }
    })().catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
    await waitFor(() => upstreams.probe.queryAbortedAt !== undefined, 1_000);
    expect((upstreams.probe.queryAbortedAt ?? Infinity) - started).toBeLessThan(1_300);
  });

  it("answers UNAVAILABLE naming the service, not its address, when the service is down", async () => {
    const down = await startGateway({ ...upstreams.urls, storageUrl: "http://127.0.0.1:1" });
    const unary = await grpcClient(StorageService, down)
      .headObject({ key: "k" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((unary as ConnectError).code).toBe(Code.Unavailable);
    expect(errorReason(unary)).toBe("UPSTREAM_UNAVAILABLE");
    expect((unary as ConnectError).rawMessage).not.toContain("127.0.0.1");
    const streamed = await (async () => {
      for await (const _ of grpcClient(StorageService, down).getObject({ key: "k", length: 1n })) {
      }
    })().catch((e: unknown) => ConnectError.from(e));
    expect((streamed as ConnectError).code).toBe(Code.Unavailable);
  });
});

describe("gateway when a service fails mid-call", () => {
  it("answers UNAVAILABLE when the service goes away during a stream", async () => {
    const dying = await startCheckingUpstreams();
    const url = await startGateway(dying.urls);
    let received = 0;
    const error = await (async () => {
      for await (const _ of grpcClient(QueryService, url).executeQuery({ sql: "s" })) {
        received += 1;
        if (received === 2) void dying.shutdown();
      }
    })().catch((e: unknown) => ConnectError.from(e));
    expect(received).toBeGreaterThanOrEqual(2);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    expect(errorReason(error)).toBe("UPSTREAM_UNAVAILABLE");
  });

  it("refuses an upload message over the gateway's limit with RESOURCE_EXHAUSTED", async () => {
    const url = await startGateway({ ...upstreams.urls, maxMessageBytes: 2 * CHUNK_BYTES });
    async function* requests(): AsyncGenerator<PutObjectRequest> {
      yield create(PutObjectRequestSchema, { part: { case: "header", value: { key: "big" } } });
      yield create(PutObjectRequestSchema, {
        part: { case: "chunk", value: new Uint8Array(3 * CHUNK_BYTES) },
      });
    }
    const error = await grpcClient(StorageService, url)
      .putObject(requests())
      .catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
  });
});

describe("gateway over @grpc/grpc-js", () => {
  const serialize = (bytes: Uint8Array) => Buffer.from(bytes);
  const deserialize = (bytes: Buffer) => new Uint8Array(bytes);
  const bearerMetadata = () => {
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    return metadata;
  };

  it("forwards unary calls with metadata, and streams server responses", async () => {
    const channel = new grpc.Client(gateway.host, grpc.credentials.createInsecure());
    try {
      const metadata = new grpc.Metadata();
      metadata.set("x-custom", "from-grpc-js");
      metadata.set("authorization", `Bearer ${token}`);
      let responseMetadata = new grpc.Metadata();
      const reply = await new Promise<Uint8Array>((resolve, reject) => {
        const call = channel.makeUnaryRequest(
          "/lakehouse.storage.v1.StorageService/HeadObject",
          serialize,
          deserialize,
          toBinary(HeadObjectRequestSchema, create(HeadObjectRequestSchema, { key: "g" })),
          metadata,
          (error, value) => (error || !value ? reject(error) : resolve(value)),
        );
        call.on("metadata", (received) => {
          responseMetadata = received;
        });
      });
      expect(fromBinary(HeadObjectResponseSchema, reply).object?.contentType).toBe("from-grpc-js");
      expect(responseMetadata.get("x-upstream-header")).toEqual(["from-storaged"]);

      const total = 3;
      const stream = channel.makeServerStreamRequest(
        "/lakehouse.storage.v1.StorageService/GetObject",
        serialize,
        deserialize,
        toBinary(
          GetObjectRequestSchema,
          create(GetObjectRequestSchema, { key: "s", length: BigInt(total * CHUNK_BYTES) }),
        ),
        metadata,
      );
      const chunks: Uint8Array[] = [];
      for await (const bytes of stream as AsyncIterable<Uint8Array>) {
        chunks.push(fromBinary(GetObjectResponseSchema, bytes).chunk);
      }
      expect(chunks.map((chunk) => chunk[0])).toEqual([0, 1, 2]);
      expect(chunks.every((chunk) => chunk.byteLength === CHUNK_BYTES)).toBe(true);
    } finally {
      channel.close();
    }
  });

  it("passes a service's error status and details on", async () => {
    const channel = new grpc.Client(gateway.host, grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError>((resolve) =>
        channel.makeUnaryRequest(
          "/lakehouse.storage.v1.StorageService/HeadObject",
          serialize,
          deserialize,
          toBinary(HeadObjectRequestSchema, create(HeadObjectRequestSchema, { key: "missing" })),
          bearerMetadata(),
          (e) => resolve(e as grpc.ServiceError),
        ),
      );
      expect(error.code).toBe(grpc.status.NOT_FOUND);
      expect(error.details).toBe("no object at missing");
      expect(error.metadata.get("grpc-status-details-bin")).toHaveLength(1);
    } finally {
      channel.close();
    }
  });
});

describe("gateway over HTTP/1.1 for browsers and curl", () => {
  it("forwards Connect JSON sent with fetch, headers and trailers included", async () => {
    const response = await fetch(
      `${gateway.origin}/lakehouse.storage.v1.StorageService/HeadObject`,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-custom": "from-fetch",
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ key: "j" }),
      },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ object: { key: "j", contentType: "from-fetch" } });
    expect(response.headers.get("x-upstream-header")).toBe("from-storaged");
    expect(response.headers.get("trailer-x-upstream-trailer")).toBe("done");
    expect(response.headers.get("content-type")).toBe("application/json");
  });

  it("answers Connect JSON errors with the service's code and details", async () => {
    const response = await fetch(
      `${gateway.origin}/lakehouse.storage.v1.StorageService/HeadObject`,
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ key: "missing" }),
      },
    );
    expect(response.status).toBe(404);
    const body = (await response.json()) as {
      code: string;
      message: string;
      details: { type: string }[];
    };
    expect(body.code).toBe("not_found");
    expect(body.message).toBe("no object at missing");
    expect(body.details.map((d) => d.type)).toEqual(["lakehouse.type.v1.ErrorDetail"]);
  });

  it("serves gRPC-Web (connect-web over fetch): unary, server streaming and errors", async () => {
    const transport = createGrpcWebTransport({
      baseUrl: gateway.origin,
      interceptors: [auth.bearer(token)],
    });
    const storage = createClient(StorageService, transport);
    const head = await storage.headObject({ key: "w" }, { headers: { "x-custom": "from-web" } });
    expect(head.object?.contentType).toBe("from-web");
    const chunks: number[] = [];
    for await (const message of storage.getObject({ key: "w", length: BigInt(2 * CHUNK_BYTES) })) {
      chunks.push(message.chunk[0] ?? -1);
    }
    expect(chunks).toEqual([0, 1]);
    const error = await storage
      .headObject({ key: "missing" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.NotFound);
    expect(errorReason(error)).toBe("OBJECT_NOT_FOUND");
  });

  it("answers a CORS preflight from an allowed origin with the protocols' headers", async () => {
    const response = await fetch(
      `${gateway.origin}/lakehouse.storage.v1.StorageService/HeadObject`,
      {
        method: "OPTIONS",
        headers: {
          origin: "http://localhost:5173",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,connect-protocol-version,authorization",
        },
      },
    );
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const methods = response.headers.get("access-control-allow-methods")?.split(/,\s*/);
    expect(methods).toEqual(expect.arrayContaining(["POST", "GET"]));
    const allowed = response.headers
      .get("access-control-allow-headers")
      ?.toLowerCase()
      .split(/,\s*/);
    expect(allowed).toEqual(
      expect.arrayContaining([
        "content-type",
        "connect-protocol-version",
        "connect-timeout-ms",
        "x-grpc-web",
        "grpc-timeout",
        "authorization",
        "traceparent",
        "x-request-id",
      ]),
    );
    expect(response.headers.get("access-control-max-age")).toBe("7200");
    expect(response.headers.get("vary")).toContain("Origin");
  });

  it("refuses a preflight from an origin that is not allowed", async () => {
    const response = await fetch(
      `${gateway.origin}/lakehouse.storage.v1.StorageService/HeadObject`,
      {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      },
    );
    expect(response.status).toBe(403);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets allowed pages read answers and the gRPC-Web status headers, others not", async () => {
    const call = (origin: string) =>
      fetch(`${gateway.origin}/lakehouse.storage.v1.StorageService/HeadObject`, {
        method: "POST",
        headers: { origin, "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ key: "c" }),
      });
    const allowed = await call("http://127.0.0.1:3000");
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:3000");
    const exposed = allowed.headers
      .get("access-control-expose-headers")
      ?.toLowerCase()
      .split(/,\s*/);
    expect(exposed).toEqual(
      expect.arrayContaining([
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "x-request-id",
      ]),
    );
    const other = await call("https://evil.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("gateway reflection", () => {
  it("lists the four public services, health and reflection to buf curl", async () => {
    const { stdout } = await run("npx", [
      "buf",
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-services",
      gateway.origin,
    ]);
    expect(stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "lakehouse.ai.v1.AiService",
      "lakehouse.catalog.v1.CatalogService",
      "lakehouse.query.v1.QueryService",
      "lakehouse.storage.v1.StorageService",
    ]);
  });
});
