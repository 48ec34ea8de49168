import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { runCli } from "./cli-program.js";
import { testContext } from "./testing/test-context.js";

describe("lakehouse health", () => {
  let server: http2.Http2Server;
  let url = "";
  const asked: string[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();

  beforeAll(async () => {
    const handler = connectNodeAdapter({
      routes: (router) =>
        router.service(Health, {
          check(request) {
            asked.push(request.service);
            return { status: ServingStatus.SERVING };
          },
        }),
    });
    server = http2.createServer(handler);
    server.on("session", (session) => sessions.add(session));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const session of sessions) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("states the service argument's default once in --help", async () => {
    const context = testContext({});
    expect(await runCli(["health", "--help"], context)).toBe(0);
    const help = context.stdout.text();
    expect(help).toContain("(default: the gateway as a whole)");
    expect(help.match(/\(default:/g)).toHaveLength(1);
  });

  it("checks the gateway as a whole (the empty name) when no service is named", async () => {
    const context = testContext({ LAKEHOUSE_URL: url });
    expect(await runCli(["health"], context)).toBe(0);
    expect(await runCli(["health", "lakehouse.query.v1.QueryService"], context)).toBe(0);
    expect(asked).toEqual(["", "lakehouse.query.v1.QueryService"]);
  });
});
