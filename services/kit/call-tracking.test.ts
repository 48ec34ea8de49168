import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { serviceError } from "./errors.js";
import { type CallerIdentity, callingAs } from "./identity/caller-identity.js";
import { createInternalAuth } from "./identity/internal-auth.js";
import { createLogger } from "./logger.js";
import { createServiceServer, registration, type ServiceServer } from "./server.js";

const secret = new TextEncoder().encode("a shared secret of thirty-two bytes!");
const ada: CallerIdentity = { subject: "ada", scopes: [], datasets: ["*"] };

let server: ServiceServer | undefined;
afterEach(async () => {
  await server?.shutdown();
  server = undefined;
});

/**
 * A server checking internal credentials, as every internal service does, whose
 * HeadObject fails as the key says; every line it logs is kept, parsed.
 */
async function startServer() {
  const lines: Record<string, unknown>[] = [];
  const serverAuth = createInternalAuth({ service: "fixture", secret });
  server = createServiceServer({
    services: [
      registration(StorageService, {
        async headObject(request) {
          if (request.key === "gone") {
            // Its client is gone by now; the break it then meets is no fault of the server.
            await new Promise((resolve) => setTimeout(resolve, 300));
            throw new Error("Premature close");
          }
          if (request.key === "bad") {
            const error = serviceError(Code.InvalidArgument, "BAD_KEY", "the key is bad");
            error.cause = new Error("parser detail");
            throw error;
          }
          if (request.key === "crash") throw new Error("secret internal detail");
          if (request.key === "lost") {
            throw serviceError(Code.DataLoss, "CHECKSUM_MISMATCH", "the object is damaged");
          }
          return {};
        },
        async *getObject() {
          yield { chunk: new Uint8Array([1]) };
          throw serviceError(Code.ResourceExhausted, "TOO_BIG", "the object is too large");
        },
      }),
    ],
    settings: {
      listen: "127.0.0.1:0",
      logLevel: "debug",
      maxMessageBytes: 1024 * 1024,
      maxConcurrentStreams: 100,
      maxHeaderBytes: 16 * 1024,
      drainTimeoutMs: 1_000,
    },
    logger: createLogger({
      level: "debug",
      write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    }),
    interceptors: [serverAuth.serverInterceptor],
  });
  const url = await server.start();
  const clientAuth = createInternalAuth({ service: "tester", secret });
  const client = createClient(
    StorageService,
    createGrpcTransport({
      baseUrl: url.origin,
      interceptors: [clientAuth.clientInterceptor],
    }),
  );
  const rpcLines = () => lines.filter((line) => line.msg === "rpc");
  return { client, rpcLines };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("the call succeeded");
    },
    (error: unknown) => ConnectError.from(error),
  );

describe("call logging", () => {
  it("names the caller's subject on the line of a call that succeeded", async () => {
    const { client, rpcLines } = await startServer();
    await client.headObject({ key: "fine" }, { contextValues: callingAs(ada) });
    const [line] = rpcLines();
    expect(line).toMatchObject({ level: "debug", code: "ok", subject: "ada" });
  });

  it("logs a client error as one info line with its code and reason and without a stack or cause", async () => {
    const { client, rpcLines } = await startServer();
    const error = await failure(
      client.headObject({ key: "bad" }, { contextValues: callingAs(ada) }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    const [line] = rpcLines();
    expect(line).toEqual({
      time: expect.any(String),
      level: "info",
      msg: "rpc",
      method: "lakehouse.storage.v1.StorageService/HeadObject",
      subject: "ada",
      durationMs: expect.any(Number),
      code: "InvalidArgument",
      reason: "BAD_KEY",
      error: "the key is bad",
    });
  });

  it("logs a client error that ends a stream the same way", async () => {
    const { client, rpcLines } = await startServer();
    const error = await failure(
      (async () => {
        for await (const _ of client.getObject({ key: "k" }, { contextValues: callingAs(ada) }));
      })(),
    );
    expect(error.code).toBe(Code.ResourceExhausted);
    const [line] = rpcLines();
    expect(line).toMatchObject({ level: "info", code: "ResourceExhausted", reason: "TOO_BIG" });
    expect(line).not.toHaveProperty("stack");
  });

  it("logs faults at error level with their stack", async () => {
    const { client, rpcLines } = await startServer();
    const crash = await failure(
      client.headObject({ key: "crash" }, { contextValues: callingAs(ada) }),
    );
    expect(crash.code).toBe(Code.Internal);
    const lost = await failure(client.headObject({ key: "lost" }));
    expect(lost.code).toBe(Code.DataLoss);
    const [crashLine, lostLine] = rpcLines();
    expect(crashLine).toMatchObject({
      level: "error",
      code: "Internal",
      error: "secret internal detail",
      subject: "ada",
    });
    expect(crashLine?.stack).toEqual(expect.stringContaining("secret internal detail\n    at "));
    expect(lostLine).toMatchObject({
      level: "error",
      code: "DataLoss",
      reason: "CHECKSUM_MISMATCH",
      subject: "service:tester",
    });
    expect(lostLine?.stack).toEqual(expect.stringMatching(/\n\s+at /));
  });

  it("logs a call whose client went away as CANCELED at info level, not as a fault", async () => {
    const { client, rpcLines } = await startServer();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const error = await failure(client.headObject({ key: "gone" }, { signal: abort.signal }));
    expect(error.code).toBe(Code.Canceled);
    const deadline = Date.now() + 2_000;
    while (rpcLines().length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [line] = rpcLines();
    expect(line).toMatchObject({ level: "info", code: "Canceled" });
    expect(line?.stack).toBeUndefined();
  });
});
