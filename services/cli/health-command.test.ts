import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { runCli } from "./cli-program.js";
import { type RoutesServer, startRoutesServer } from "./testing/routes-server.js";
import { testContext } from "./testing/test-context.js";

describe("lakehouse health", () => {
  let server: RoutesServer;
  const asked: string[] = [];

  beforeAll(async () => {
    server = await startRoutesServer((router) =>
      router.service(Health, {
        check(request) {
          asked.push(request.service);
          return { status: ServingStatus.SERVING };
        },
      }),
    );
  });

  afterAll(async () => {
    await server.close();
  });

  it("states the service argument's default once in --help", async () => {
    const context = testContext({});
    expect(await runCli(["health", "--help"], context)).toBe(0);
    const help = context.stdout.text();
    expect(help).toContain("(default: the gateway as a whole)");
    expect(help.match(/\(default:/g)).toHaveLength(1);
  });

  it("checks the gateway as a whole (the empty name) when no service is named", async () => {
    const context = testContext({ LAKEHOUSE_URL: server.url });
    expect(await runCli(["health"], context)).toBe(0);
    expect(await runCli(["health", "lakehouse.query.v1.QueryService"], context)).toBe(0);
    expect(asked).toEqual(["", "lakehouse.query.v1.QueryService"]);
  });
});
