import { describe, expect, it } from "vitest";
import { copyResponseHeaders, forwardedRequestHeaders } from "./forwarded-headers.js";

describe("forwarded headers", () => {
  it("forwards end-to-end request headers and drops the client hop's protocol fields", () => {
    const forwarded = forwardedRequestHeaders(
      new Headers({
        authorization: "Bearer t",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        tracestate: "v=1",
        "x-request-id": "r1",
        "x-custom-bin": "AAEC",
        "user-agent": "grpc-node-js/1.14.7",
        "content-type": "application/grpc-web+proto",
        "content-length": "12",
        "grpc-timeout": "5S",
        "grpc-accept-encoding": "gzip",
        "connect-protocol-version": "1",
        "connect-timeout-ms": "5000",
        "x-grpc-web": "1",
        "x-user-agent": "connect-es/2.1.2",
        "accept-encoding": "gzip",
        te: "trailers",
        host: "gateway:8080",
        origin: "http://localhost:5173",
        connection: "keep-alive, x-hop",
        "keep-alive": "timeout=5",
        "x-hop": "only this connection",
      }),
    );
    expect([...forwarded.keys()].sort()).toEqual([
      "authorization",
      "traceparent",
      "tracestate",
      "user-agent",
      "x-custom-bin",
      "x-request-id",
    ]);
    expect(forwarded.get("x-custom-bin")).toBe("AAEC");
  });

  it("copies a service's own response fields, replacing earlier values, and no protocol fields", () => {
    const target = new Headers({ "content-type": "application/json", "x-request-id": "mine" });
    copyResponseHeaders(
      new Headers({
        "content-type": "application/grpc+proto",
        "grpc-status": "0",
        "grpc-message": "",
        "grpc-encoding": "identity",
        date: "Thu, 26 Nov 2026 08:00:00 GMT",
        "x-request-id": "theirs",
        "x-upstream": "yes",
      }),
      target,
    );
    expect([...target.entries()]).toEqual([
      ["content-type", "application/json"],
      ["x-request-id", "theirs"],
      ["x-upstream", "yes"],
    ]);
  });
});
