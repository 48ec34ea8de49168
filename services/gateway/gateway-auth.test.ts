import { execFile } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { connect } from "node:net";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import * as grpc from "@grpc/grpc-js";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import {
  CatalogService,
  GetDatasetRequestSchema,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { errorReason } from "../kit/errors.js";
import type { ServiceServer } from "../kit/server.js";
import { type FixtureUpstreams, startFixtureUpstreams } from "./testing/fixture-upstreams.js";
import { type JwksServer, startJwksServer } from "./testing/jwks-server.js";
import { createTestAuth, type TestAuth, testAudience, testIssuer } from "./testing/test-auth.js";
import { startTestGateway } from "./testing/test-gateway.js";

const run = promisify(execFile);
const servers: ServiceServer[] = [];
let auth: TestAuth;
let upstreams: FixtureUpstreams;
let jwks: JwksServer;
let gateway: URL;
/** A second Ed25519 key, published in the JWKS only when a test rotates it in. */
let rotated: { jwk: JWK; sign: (claims?: JWTPayload) => Promise<string> };

const now = () => Math.floor(Date.now() / 1000);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const claims = (extra: JWTPayload = {}): JWTPayload => ({
  sub: "tester",
  iss: testIssuer,
  aud: testAudience,
  iat: now(),
  exp: now() + 600,
  scope: "catalog.read",
  datasets: ["*"],
  ...extra,
});

async function ed25519Key(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  return {
    jwk: { ...(await exportJWK(publicKey)), kid, alg: "EdDSA" },
    sign: (payload: JWTPayload = claims()) =>
      new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", kid }).sign(privateKey),
  };
}

/** A gateway whose keys come from `jwksUrl`, as main.ts builds it. */
async function startGateway(auth_: Record<string, unknown>): Promise<URL> {
  const { url, server } = await startTestGateway(
    {
      drainTimeoutMs: 200,
      // Room for a 64 KiB header, so the token-size check (not HTTP) is what refuses it.
      maxHeaderBytes: 128 * 1024,
      ...upstreams.urls,
      auth: { algorithms: ["EdDSA"], ...auth_ },
    },
    { internalAuth: auth.gatewayInternalAuth },
  );
  servers.push(server);
  return url;
}

beforeAll(async () => {
  auth = await createTestAuth();
  rotated = await ed25519Key("test-2");
  const es256 = await generateKeyPair("ES256");
  jwks = await startJwksServer([
    ...auth.jwks.keys,
    { ...(await exportJWK(es256.publicKey)), kid: "es-1", alg: "ES256" },
  ]);
  upstreams = await startFixtureUpstreams([auth.upstreamInternalAuth.serverInterceptor]);
  gateway = await startGateway({ jwksUrl: jwks.url, jwksCooldownSeconds: 0 });
  attackCorpus.push([
    "an algorithm that is not pinned (ES256, its key in the JWKS)",
    `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: "ES256", kid: "es-1" }).sign(es256.privateKey)}`,
    "TOKEN_ALGORITHM_NOT_ALLOWED",
  ]);
  const publicPem = createPublicKey({
    key: auth.jwks.keys[0] as JWK & { kty: string },
    format: "jwk",
  })
    .export({ type: "spki", format: "pem" })
    .toString();
  attackCorpus.push([
    "HS256 signed with the public key as secret",
    `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: "test-1" }).sign(new TextEncoder().encode(publicPem))}`,
    "TOKEN_ALGORITHM_NOT_ALLOWED",
  ]);
  const stranger = await ed25519Key("test-1");
  const signed = (extra: JWTPayload) => auth.token(claims(extra));
  attackCorpus.push(
    [
      "a forged signature (another key, same kid)",
      `Bearer ${await stranger.sign()}`,
      "TOKEN_SIGNATURE_INVALID",
    ],
    ["an unknown kid", `Bearer ${await (await ed25519Key("nobody")).sign()}`, "TOKEN_KEY_UNKNOWN"],
    [
      "alg none",
      `Bearer ${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims())}.`,
      "TOKEN_ALGORITHM_NOT_ALLOWED",
    ],
    [
      "a wrong iss",
      `Bearer ${await signed({ iss: "https://evil.example" })}`,
      "TOKEN_CLAIM_INVALID",
    ],
    ["a wrong aud", `Bearer ${await signed({ aud: "another-service" })}`, "TOKEN_CLAIM_INVALID"],
    [
      "expired beyond the tolerance",
      `Bearer ${await signed({ exp: now() - 120 })}`,
      "TOKEN_EXPIRED",
    ],
    ["nbf in the future", `Bearer ${await signed({ nbf: now() + 600 })}`, "TOKEN_CLAIM_INVALID"],
    ["no exp", `Bearer ${await signed({ exp: undefined })}`, "TOKEN_CLAIM_INVALID"],
    ["no sub", `Bearer ${await signed({ sub: undefined })}`, "TOKEN_CLAIM_INVALID"],
    ["garbage", "Bearer garbage", "TOKEN_MALFORMED"],
    ["three segments of garbage", "Bearer a.b.c", "TOKEN_MALFORMED"],
    ["a lower-case bearer", `bearer ${await signed({})}`, "TOKEN_MALFORMED"],
    ["an empty Bearer", "Bearer ", "TOKEN_MALFORMED"],
    ["another scheme", "Basic dXNlcjpwYXNzd29yZA==", "TOKEN_MALFORMED"],
    ["a 64 KiB token", `Bearer ${"a".repeat(64 * 1024)}`, "TOKEN_TOO_LARGE"],
  );
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.shutdown()));
  await upstreams.shutdown();
  await jwks.close();
});

/** `[what, authorization header value, reason]`; filled in beforeAll. */
const attackCorpus: [string, string, string][] = [];

/** GetDataset through one client kind with a raw `authorization` value (none when undefined). */
type Caller = (url: URL, authorization: string | undefined) => Promise<ConnectError | "ok">;

const viaConnect =
  (transport: (url: URL) => Transport): Caller =>
  async (url, authorization) => {
    const client = createClient(CatalogService, transport(url));
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    return client.getDataset({ name: "t" }, { headers }).then(
      () => "ok" as const,
      (error: unknown) => ConnectError.from(error),
    );
  };

const viaGrpcJs: Caller = async (url, authorization) => {
  const channel = new grpc.Client(url.host, grpc.credentials.createInsecure());
  try {
    const metadata = new grpc.Metadata();
    if (authorization !== undefined) metadata.set("authorization", authorization);
    return await new Promise((resolve) =>
      channel.makeUnaryRequest(
        "/lakehouse.catalog.v1.CatalogService/GetDataset",
        (value: Uint8Array) => Buffer.from(value),
        (bytes: Buffer) => new Uint8Array(bytes),
        toBinary(GetDatasetRequestSchema, create(GetDatasetRequestSchema, { name: "t" })),
        metadata,
        (error) => {
          if (!error) return resolve("ok");
          resolve(new ConnectError(error.details, error.code as number as Code));
        },
      ),
    );
  } finally {
    channel.close();
  }
};

const clients: [string, Caller][] = [
  ["grpc-js", viaGrpcJs],
  [
    "Connect (HTTP/1.1)",
    viaConnect((url) => createConnectTransport({ baseUrl: url.origin, httpVersion: "1.1" })),
  ],
  ["gRPC-Web", viaConnect((url) => createGrpcWebTransport({ baseUrl: url.origin }))],
  [
    "gRPC (connect-node)",
    viaConnect((url) =>
      createGrpcTransport({
        baseUrl: url.origin,
        // Node's HTTP/2 client refuses by itself to send a header block over 64 KiB.
        nodeOptions: { maxSendHeaderBlockLength: 128 * 1024 },
      }),
    ),
  ],
];

/** Token pieces long enough to be recognisable if a message echoed them. */
const tokenPieces = (authorization: string) =>
  authorization
    .replace(/^\S+\s*/, "")
    .split(".")
    .filter((piece) => piece.length >= 8)
    .map((piece) => piece.slice(0, 24));

describe.each(clients)("gateway authentication through %s", (name, call) => {
  it("serves a valid token, and one expired within the clock tolerance", async () => {
    expect(await call(gateway, `Bearer ${await auth.token(claims())}`)).toBe("ok");
    expect(await call(gateway, `Bearer ${await auth.token(claims({ exp: now() - 10 }))}`)).toBe(
      "ok",
    );
  });

  it("refuses a call without a token with UNAUTHENTICATED", async () => {
    const outcome = await call(gateway, undefined);
    expect(outcome).toBeInstanceOf(ConnectError);
    expect((outcome as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("refuses every token of the attack corpus with UNAUTHENTICATED and its reason, echoing none of it", async () => {
    expect(attackCorpus.length).toBe(17);
    const outcomes: [string, string, string][] = [];
    for (const [what, authorization, reason] of attackCorpus) {
      const outcome = await call(gateway, authorization);
      if (outcome === "ok") {
        outcomes.push([what, "ok", ""]);
        continue;
      }
      // grpc-js does not decode error details; the connect clients do.
      const seenReason = name === "grpc-js" ? reason : errorReason(outcome);
      outcomes.push([what, Code[outcome.code] ?? "?", seenReason]);
      for (const piece of tokenPieces(authorization)) {
        expect(outcome.rawMessage).not.toContain(piece);
      }
    }
    expect(outcomes).toEqual(
      attackCorpus.map(([what, , reason]) => [what, "Unauthenticated", reason]),
    );
  });
});

/** Sends one Connect JSON GetDataset over a raw HTTP/1.1 connection, header lines as given. */
function rawHttp1(url: URL, headerLines: string[]): Promise<string> {
  const body = JSON.stringify({ name: "t" });
  const request = [
    "POST /lakehouse.catalog.v1.CatalogService/GetDataset HTTP/1.1",
    `Host: ${url.host}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    ...headerLines,
    "",
    body,
  ].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      answer += text;
    });
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
  });
}

describe("gateway authentication, one header only", () => {
  it("refuses two authorization headers, each valid, over HTTP/1.1 and HTTP/2", async () => {
    const valid = `Bearer ${await auth.token(claims())}`;
    const once = await rawHttp1(gateway, [`Authorization: ${valid}`]);
    expect(once.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
    const twice = await rawHttp1(gateway, [`Authorization: ${valid}`, `Authorization: ${valid}`]);
    expect(twice.split("\r\n")[0]).toBe("HTTP/1.1 401 Unauthorized");
    expect(twice).toContain('"code":"unauthenticated"');
    expect(twice).not.toContain(valid.slice(-20));

    const curl = (headers: string[]) =>
      run("curl", [
        "-sS",
        "--http2-prior-knowledge",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "content-type: application/json",
        ...headers.flatMap((header) => ["-H", `authorization: ${header}`]),
        "-d",
        JSON.stringify({ name: "t" }),
        `${gateway.origin}/lakehouse.catalog.v1.CatalogService/GetDataset`,
      ]);
    expect((await curl([valid])).stdout).toBe("200");
    expect((await curl([valid, valid])).stdout).toBe("401");
  });
});

describe("gateway without a token", () => {
  it("answers health and reflection, and nothing else", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: gateway.origin }));
    expect((await health.check({ service: "" })).status).toBe(1);
    const { stdout } = await run("npx", [
      "buf",
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-methods",
      gateway.origin,
    ]);
    expect(stdout).toContain("lakehouse.query.v1.QueryService/ExecuteQuery");
    const query = createClient(QueryService, createGrpcTransport({ baseUrl: gateway.origin }));
    const error = await query.explainQuery({ sql: "select 1" }).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.Unauthenticated);
    expect(errorReason(error)).toBe("TOKEN_MISSING");
  });
});

describe("gateway scopes", () => {
  const queryWith = async (scope: string) =>
    createClient(
      QueryService,
      createGrpcTransport({
        baseUrl: gateway.origin,
        interceptors: [auth.bearer(await auth.token(claims({ scope })))],
      }),
    );

  it("refuses an RPC whose scope the token lacks with PERMISSION_DENIED, before the service sees it", async () => {
    upstreams.probe.lastHeaders = undefined;
    const reader = await queryWith("catalog.read storage.read");
    const error = await reader.explainQuery({ sql: "select 1" }).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.PermissionDenied);
    expect(errorReason(error)).toBe("SCOPE_MISSING");
    expect(upstreams.probe.lastHeaders).toBeUndefined();
    const streamed = await (async () => {
      for await (const _ of reader.executeQuery({ sql: "select 1" })) {
      }
    })().catch((e: unknown) => e);
    expect(ConnectError.from(streamed).code).toBe(Code.PermissionDenied);
  });

  it("needs every scope an RPC lists: WriteQueryResult needs query and catalog.write", async () => {
    const queryOnly = await queryWith("query");
    expect((await queryOnly.explainQuery({ sql: "x" })).plan).toBe("plan for x");
    const error = await queryOnly
      .writeQueryResult({ sql: "select 1", dataset: "d" })
      .catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.PermissionDenied);
    const both = await queryWith("query catalog.write");
    const passed = await both
      .writeQueryResult({ sql: "select 1", dataset: "d" })
      .catch((e: unknown) => e);
    // The fixture service does not implement it: reaching it is the point.
    expect(ConnectError.from(passed).code).toBe(Code.Unimplemented);
  });

  it("refuses a token with no scope at all", async () => {
    const none = await queryWith("");
    const error = await none.explainQuery({ sql: "x" }).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.PermissionDenied);
  });
});

describe("gateway keys from a JWKS endpoint", () => {
  const call = clients[3]![1];

  it("accepts a key added to the JWKS without a restart", async () => {
    const keys = await startJwksServer(auth.jwks.keys);
    try {
      const url = await startGateway({ jwksUrl: keys.url, jwksCooldownSeconds: 0 });
      const before = await call(url, `Bearer ${await rotated.sign()}`);
      expect(before === "ok" ? "ok" : errorReason(before)).toBe("TOKEN_KEY_UNKNOWN");
      keys.setKeys([...auth.jwks.keys, rotated.jwk]);
      expect(await call(url, `Bearer ${await rotated.sign()}`)).toBe("ok");
      expect(await call(url, `Bearer ${await auth.token(claims())}`)).toBe("ok");
    } finally {
      await keys.close();
    }
  });

  it("refetches for unknown kids at most once per cooldown", async () => {
    const keys = await startJwksServer(auth.jwks.keys);
    try {
      const url = await startGateway({ jwksUrl: keys.url, jwksCooldownSeconds: 0.5 });
      expect(await call(url, `Bearer ${await auth.token(claims())}`)).toBe("ok");
      expect(keys.fetches()).toBe(1);
      for (let attempt = 0; attempt < 5; attempt++) {
        const outcome = await call(
          url,
          `Bearer ${await (await ed25519Key(`made-up-${attempt}`)).sign()}`,
        );
        expect(outcome === "ok" ? "ok" : Code[outcome.code]).toBe("Unauthenticated");
      }
      expect(keys.fetches()).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 600));
      for (let attempt = 0; attempt < 5; attempt++) {
        await call(url, `Bearer ${await (await ed25519Key(`later-${attempt}`)).sign()}`);
      }
      expect(keys.fetches()).toBe(2);
    } finally {
      await keys.close();
    }
  });

  it("keeps verifying with cached keys while the JWKS is down, and answers UNAVAILABLE for keys it cannot check", async () => {
    const keys = await startJwksServer(auth.jwks.keys);
    try {
      const url = await startGateway({
        jwksUrl: keys.url,
        jwksCooldownSeconds: 0,
        jwksCacheMaxAgeSeconds: 1,
      });
      expect(await call(url, `Bearer ${await auth.token(claims())}`)).toBe("ok");
      keys.setDown(true);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await call(url, `Bearer ${await auth.token(claims())}`)).toBe("ok");
      const unknown = await call(url, `Bearer ${await rotated.sign()}`);
      expect(unknown === "ok" ? "ok" : Code[unknown.code]).toBe("Unavailable");
      expect(unknown === "ok" ? "" : errorReason(unknown)).toBe("TOKEN_KEYS_UNAVAILABLE");
      expect(keys.fetches()).toBeGreaterThan(1);
    } finally {
      await keys.close();
    }
  });

  it("answers UNAVAILABLE when the JWKS has never been reachable", async () => {
    const keys = await startJwksServer([]);
    keys.setDown(true);
    try {
      const url = await startGateway({ jwksUrl: keys.url });
      const outcome = await call(url, `Bearer ${await auth.token(claims())}`);
      expect(outcome === "ok" ? "ok" : Code[outcome.code]).toBe("Unavailable");
    } finally {
      await keys.close();
    }
  });
});
