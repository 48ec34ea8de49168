import { createServer } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import type { ServiceServer } from "../kit/server.js";
import { type FixtureUpstreams, startFixtureUpstreams } from "./testing/fixture-upstreams.js";
import { createTestAuth, type TestAuth } from "./testing/test-auth.js";
import { startTestGateway } from "./testing/test-gateway.js";

let auth: TestAuth;
let upstreams: FixtureUpstreams;
let server: ServiceServer;
let gateway: URL;
/** Every line the gateway logged, parsed. */
const lines: Record<string, unknown>[] = [];

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

beforeAll(async () => {
  auth = await createTestAuth();
  upstreams = await startFixtureUpstreams([auth.upstreamInternalAuth.serverInterceptor]);
  ({ url: gateway, server } = await startTestGateway(
    {
      logLevel: "info",
      ...upstreams.urls,
      // queryd is down: every forwarded query call breaks on the hop.
      queryUrl: `http://127.0.0.1:${await closedPort()}`,
    },
    { keys: auth.keys, internalAuth: auth.gatewayInternalAuth },
    (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  ));
});

afterAll(async () => {
  await server.shutdown();
  await upstreams.shutdown();
});

async function callAs<T>(
  subject: string,
  call: (transport: ReturnType<typeof createGrpcTransport>) => Promise<T>,
): Promise<{ error: ConnectError; line: Record<string, unknown> }> {
  const token = await auth.token({ sub: subject });
  const transport = createGrpcTransport({
    baseUrl: gateway.origin,
    interceptors: [auth.bearer(token)],
  });
  const before = lines.length;
  const error = await call(transport).then(
    () => {
      throw new Error("the call succeeded");
    },
    (e: unknown) => ConnectError.from(e),
  );
  const line = lines.slice(before).find((l) => l.msg === "rpc");
  if (line === undefined) throw new Error("no rpc line logged");
  return { error, line };
}

describe("gateway logs of forwarded failures", () => {
  it("logs a service's client error as one info line with code, reason and subject, and no stack", async () => {
    const { error, line } = await callAs("ada", (transport) =>
      createClient(StorageService, transport).headObject({ key: "missing" }),
    );
    expect(error.code).toBe(Code.NotFound);
    expect(line).toMatchObject({
      level: "info",
      method: "lakehouse.storage.v1.StorageService/HeadObject",
      code: "NotFound",
      reason: "OBJECT_NOT_FOUND",
      error: "no object at missing",
      subject: "ada",
    });
    expect(JSON.stringify(line)).not.toMatch(/"stack"|"cause"|\n\s+at /);
  });

  it("logs a broken hop to a service at error level with the stack and the hop's own error", async () => {
    const { error, line } = await callAs("grace", (transport) =>
      createClient(QueryService, transport).explainQuery({ sql: "select 1" }),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(line).toMatchObject({
      level: "error",
      method: "lakehouse.query.v1.QueryService/ExplainQuery",
      code: "Unavailable",
      reason: "UPSTREAM_UNAVAILABLE",
      subject: "grace",
    });
    expect(line.stack).toEqual(expect.stringMatching(/\n\s+at /));
    expect(JSON.stringify(line.cause)).toContain("127.0.0.1");
  });
});
