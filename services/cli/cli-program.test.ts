import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { serviceError } from "../kit/errors.js";
import { runCli } from "./cli-program.js";
import { type RoutesServer, startRoutesServer } from "./testing/routes-server.js";
import { testContext } from "./testing/test-context.js";

/** A real gRPC server on port 0 whose health check records what the CLI sent. */
describe("runCli against a real gRPC server", () => {
  let server: RoutesServer;
  let url = "";
  let directory = "";
  const authorizations: (string | null)[] = [];

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "cli-program-"));
    server = await startRoutesServer((router) =>
      router.service(Health, {
        async check(request, context) {
          authorizations.push(context.requestHeader.get("authorization"));
          if (request.service === "slow") await sleep(5_000, undefined, { signal: context.signal });
          if (request.service === "broken") {
            throw serviceError(Code.FailedPrecondition, "SCHEMA_CONFLICT", "columns differ");
          }
          if (request.service === "draining") return { status: ServingStatus.NOT_SERVING };
          return { status: ServingStatus.SERVING };
        },
      }),
    );
    url = server.url;
  });

  afterAll(async () => {
    await server.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("sends LAKEHOUSE_TOKEN as a bearer token and prints the status", async () => {
    const context = testContext({ LAKEHOUSE_URL: url, LAKEHOUSE_TOKEN: "t0ken" });
    expect(await runCli(["health"], context)).toBe(0);
    expect(context.stdout.text()).toBe("SERVING\n");
    expect(authorizations.at(-1)).toBe("Bearer t0ken");
  });

  it("reads the token from LAKEHOUSE_TOKEN_FILE, trimmed, and --url wins over LAKEHOUSE_URL", async () => {
    const file = join(directory, "token");
    writeFileSync(file, "from-file\n");
    const context = testContext({
      LAKEHOUSE_URL: "http://127.0.0.1:1",
      LAKEHOUSE_TOKEN_FILE: file,
    });
    expect(await runCli(["health", "--url", url], context)).toBe(0);
    expect(authorizations.at(-1)).toBe("Bearer from-file");
  });

  it("sends no authorization header when no token is configured", async () => {
    expect(await runCli(["health"], testContext({ LAKEHOUSE_URL: url }))).toBe(0);
    expect(authorizations.at(-1)).toBeNull();
  });

  it("prints the code in snake_case with the ErrorDetail reason and exits 1", async () => {
    const context = testContext({ LAKEHOUSE_URL: url });
    expect(await runCli(["health", "broken"], context)).toBe(1);
    expect(context.stderr.text()).toBe(
      "error: failed_precondition: columns differ (reason: SCHEMA_CONFLICT)\n",
    );
  });

  it("exits 1 when the service is not SERVING, after printing its status", async () => {
    const context = testContext({ LAKEHOUSE_URL: url });
    expect(await runCli(["health", "draining", "--json"], context)).toBe(1);
    expect(JSON.parse(context.stdout.text())).toEqual({
      service: "draining",
      status: "NOT_SERVING",
    });
    expect(context.stderr.text()).toBe("error: unavailable: draining is NOT_SERVING\n");
  });

  it("ends a call at the --timeout deadline with deadline_exceeded", async () => {
    const context = testContext({ LAKEHOUSE_URL: url });
    const started = performance.now();
    expect(await runCli(["--timeout", "0.2", "health", "slow"], context)).toBe(1);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(context.stderr.text()).toMatch(/^error: deadline_exceeded: /);
  });

  it("reports a missing token file as not_found without calling", async () => {
    const context = testContext({
      LAKEHOUSE_URL: url,
      LAKEHOUSE_TOKEN_FILE: join(directory, "missing"),
    });
    const calls = authorizations.length;
    expect(await runCli(["health"], context)).toBe(1);
    expect(context.stderr.text()).toMatch(/^error: not_found: file ".*missing" does not exist\n$/);
    expect(authorizations.length).toBe(calls);
  });
});

describe("runCli usage", () => {
  it("prints help with examples on --help and exits 0", async () => {
    const context = testContext({});
    expect(await runCli(["query", "--help"], context)).toBe(0);
    expect(context.stdout.text()).toContain("Usage: lakehouse query [options] <sql>");
    expect(context.stdout.text()).toContain("Examples:\n  $ lakehouse query");
  });

  it("exits 2 with an error: usage line for bad command lines", async () => {
    for (const args of [
      [],
      ["query"],
      ["frobnicate"],
      ["diff", "sales", "x"],
      ["--timeout", "-1", "datasets"],
    ]) {
      const context = testContext({});
      expect(await runCli(args, context), args.join(" ")).toBe(2);
      expect(context.stderr.text()).toMatch(
        args.length === 0 ? /^Usage: lakehouse/ : /^error: usage: /,
      );
    }
  });

  it("exits 2 for a malformed LAKEHOUSE_URL and for --format arrow to a terminal", async () => {
    const badUrl = testContext({ LAKEHOUSE_URL: "ftp://x" });
    expect(await runCli(["datasets"], badUrl)).toBe(2);
    expect(badUrl.stderr.text()).toMatch(/^error: usage: LAKEHOUSE_URL: /);
    const tty = testContext({ LAKEHOUSE_URL: "http://127.0.0.1:1" }, { tty: true });
    expect(await runCli(["query", "SELECT 1", "--format", "arrow"], tty)).toBe(2);
    expect(tty.stderr.text()).toMatch(/^error: usage: --format arrow writes binary/);
  });
});
