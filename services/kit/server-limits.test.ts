import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  HeadObjectRequestSchema,
  type PutObjectRequest,
  PutObjectRequestSchema,
  StorageService,
} from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { createLogger } from "./logger.js";
import { createServiceServer, registration, type ServiceServer } from "./server.js";

let server: ServiceServer | undefined;
afterEach(async () => {
  await server?.shutdown();
  server = undefined;
});

/** GetObject streams until `release` resolves; HeadObject and PutObject answer at once. */
async function startServer(limits: {
  maxMessageBytes?: number;
  maxConcurrentStreams?: number;
  maxHeaderBytes?: number;
}) {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  server = createServiceServer({
    services: [
      registration(StorageService, {
        headObject: (request) => ({ object: { key: request.key } }),
        async putObject(requests) {
          let size = 0;
          for await (const request of requests) {
            if (request.part.case === "chunk") size += request.part.value.byteLength;
          }
          return { object: { size: BigInt(size) } };
        },
        async *getObject() {
          yield { chunk: new Uint8Array([1]) };
          await released;
        },
      }),
    ],
    settings: {
      listen: "127.0.0.1:0",
      logLevel: "error",
      maxMessageBytes: 1024 * 1024,
      maxConcurrentStreams: 100,
      maxHeaderBytes: 16 * 1024,
      drainTimeoutMs: 200,
      ...limits,
    },
    logger: createLogger({ level: "error", write: () => {} }),
  });
  const url = await server.start();
  return { url, release };
}

/** A client on its own HTTP/2 connection. */
const client = (url: URL) =>
  createClient(StorageService, createGrpcTransport({ baseUrl: url.origin }));

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    (error: unknown) => Code[ConnectError.from(error).code],
  );

describe("server limits", () => {
  it("refuses a header block over maxHeaderBytes (RESOURCE_EXHAUSTED to gRPC clients, 431 on HTTP/1.1) and keeps serving", async () => {
    const { url } = await startServer({ maxHeaderBytes: 16 * 1024 });
    const big = { "x-padding": "p".repeat(20 * 1024) };
    // grpc-js reads the stream reset (ENHANCE_YOUR_CALM) as gRPC says to.
    const channel = new grpc.Client(url.host, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set("x-padding", big["x-padding"]);
    const status = await new Promise<number>((resolve) =>
      channel.makeUnaryRequest(
        "/lakehouse.storage.v1.StorageService/HeadObject",
        (value: Uint8Array) => Buffer.from(value),
        (bytes: Buffer) => new Uint8Array(bytes),
        toBinary(HeadObjectRequestSchema, create(HeadObjectRequestSchema, { key: "k" })),
        metadata,
        (error) => resolve(error ? error.code : grpc.status.OK),
      ),
    );
    channel.close();
    expect(grpc.status[status]).toBe("RESOURCE_EXHAUSTED");
    const http1 = await fetch(`${url.origin}/lakehouse.storage.v1.StorageService/HeadObject`, {
      method: "POST",
      headers: { "content-type": "application/json", ...big },
      body: JSON.stringify({ key: "k" }),
    });
    expect(http1.status).toBe(431);
    expect((await client(url).headObject({ key: "after" })).object?.key).toBe("after");
  });

  it("holds a connection to maxConcurrentStreams calls at once: the next one waits out its deadline, other connections are served", async () => {
    const { url, release } = await startServer({ maxConcurrentStreams: 2 });
    const busy = client(url);
    // One call first, so the client has the server's SETTINGS before it opens more.
    await busy.headObject({ key: "warm" });
    const held = [0, 1].map(async () => {
      for await (const _ of busy.getObject({ key: "k" })) {
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await codeOf(busy.headObject({ key: "third" }, { timeoutMs: 300 }))).toBe(
      "DeadlineExceeded",
    );
    expect((await client(url).headObject({ key: "other" })).object?.key).toBe("other");
    release();
    await Promise.all(held);
    expect((await busy.headObject({ key: "again" })).object?.key).toBe("again");
  });

  it("refuses a message over maxMessageBytes with RESOURCE_EXHAUSTED and keeps serving", async () => {
    const { url } = await startServer({ maxMessageBytes: 64 * 1024 });
    async function* body(chunkBytes: number): AsyncGenerator<PutObjectRequest> {
      yield create(PutObjectRequestSchema, { part: { case: "header", value: { key: "k" } } });
      yield create(PutObjectRequestSchema, {
        part: { case: "chunk", value: new Uint8Array(chunkBytes) },
      });
    }
    expect(await codeOf(client(url).putObject(body(100 * 1024)))).toBe("ResourceExhausted");
    expect((await client(url).putObject(body(32 * 1024))).object?.size).toBe(32n * 1024n);
  });
});
