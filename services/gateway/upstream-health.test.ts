import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import type { ServiceServer } from "../kit/server.js";
import type { FixtureUpstreams } from "./testing/fixture-upstreams.js";
import { createTestAuth, type TestAuth } from "./testing/test-auth.js";
import { startTestGateway } from "./testing/test-gateway.js";
import { UPSTREAM_HEALTH_TIMEOUT_MS } from "./upstream-health.js";

const query = QueryService.typeName;
const servers: ServiceServer[] = [];
let auth: TestAuth;
/** The fixture upstreams, in a child process so a test can pause and stop them. */
let upstreams: ChildProcess;
let urls: FixtureUpstreams["urls"];
let gateway: URL;

/** Starts the fixture upstreams' process and reads the URLs it prints. */
async function spawnUpstreams(): Promise<{ child: ChildProcess; urls: FixtureUpstreams["urls"] }> {
  const main = fileURLToPath(new URL("./testing/fixture-upstreams-main.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", main], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`fixture upstreams exited (${code}) before listening`);
  });
  const [line] = (await Promise.race([once(lines, "line"), exited])) as [string];
  exited.catch(() => {});
  lines.close();
  return { child, urls: JSON.parse(line) as FixtureUpstreams["urls"] };
}

/** A gateway in-process, built as main.ts builds it; no token is needed for health. */
async function startGateway(upstreamUrls: FixtureUpstreams["urls"]): Promise<URL> {
  const { url, server } = await startTestGateway(
    { drainTimeoutMs: 200, ...upstreamUrls },
    { keys: auth.keys, internalAuth: auth.gatewayInternalAuth },
  );
  servers.push(server);
  return url;
}

/** The gateway's health Check for `service`, asked without a token as probes do. */
async function statusOf(service: string, url = gateway): Promise<ServingStatus> {
  const health = createClient(Health, createGrpcTransport({ baseUrl: url.origin }));
  return (await health.check({ service })).status;
}

/** A loopback address where nothing listens: a port just bound and released. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

beforeAll(async () => {
  auth = await createTestAuth();
  ({ child: upstreams, urls } = await spawnUpstreams());
  gateway = await startGateway(urls);
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.shutdown()));
  if (upstreams.exitCode === null && upstreams.signalCode === null) {
    upstreams.kill("SIGCONT");
    upstreams.kill("SIGKILL");
  }
});

describe("gateway health Check of a public service", () => {
  it("is SERVING while the service answers, NOT_SERVING while it is frozen (SIGSTOP), SERVING again once it resumes; the gateway itself stays SERVING", async () => {
    expect(await statusOf(query)).toBe(ServingStatus.SERVING);
    upstreams.kill("SIGSTOP");
    try {
      const started = performance.now();
      expect(await statusOf(query)).toBe(ServingStatus.NOT_SERVING);
      expect(performance.now() - started).toBeLessThan(UPSTREAM_HEALTH_TIMEOUT_MS + 1_500);
      const ownStarted = performance.now();
      expect(await statusOf("")).toBe(ServingStatus.SERVING);
      // Liveness answers at once: it never waits on a service.
      expect(performance.now() - ownStarted).toBeLessThan(UPSTREAM_HEALTH_TIMEOUT_MS / 2);
    } finally {
      upstreams.kill("SIGCONT");
    }
    expect(await statusOf(query)).toBe(ServingStatus.SERVING);
  });

  it("is NOT_SERVING for a service that cannot be reached, while the others and the gateway are SERVING", async () => {
    const partial = await startGateway({ ...urls, queryUrl: await closedPortUrl() });
    expect(await statusOf(query, partial)).toBe(ServingStatus.NOT_SERVING);
    expect(await statusOf(CatalogService.typeName, partial)).toBe(ServingStatus.SERVING);
    expect(await statusOf("", partial)).toBe(ServingStatus.SERVING);
  });

  it("is NOT_SERVING for every public service once their process has stopped (SIGTERM), while the gateway stays SERVING", async () => {
    upstreams.kill("SIGTERM");
    await once(upstreams, "exit");
    for (const service of [StorageService, CatalogService, QueryService, AiService]) {
      expect(await statusOf(service.typeName)).toBe(ServingStatus.NOT_SERVING);
    }
    expect(await statusOf("")).toBe(ServingStatus.SERVING);
  });
});
