import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  Code,
  type ConnectRouter,
  createClient,
  createRouterTransport,
  type Transport,
} from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type PutObjectRequest,
  PutObjectRequestSchema,
  StorageService,
} from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { downloadObject, putObject, readObject, type StorageClient, sha256Hex } from "./client.js";
import { createLocalBackend } from "./local-backend.js";
import type { ObjectBackend } from "./object-backend.js";
import { createStorageService } from "./storage-service.js";
import { collect, expectCode, streamOf, testBytes } from "./testing/object-test-helpers.js";

const MiB = 1024 * 1024;
const UPLOAD_LIMIT = 8 * MiB;

interface Harness {
  client: StorageClient;
  root: string;
  close(): Promise<void>;
}

async function openBackend(): Promise<{ backend: ObjectBackend; root: string }> {
  const root = await mkdtemp(path.join(tmpdir(), "storaged-svc-"));
  return { backend: await createLocalBackend({ root }), root };
}

function routesFor(backend: ObjectBackend) {
  return (router: ConnectRouter) => {
    router.service(StorageService, createStorageService(backend, { maxUploadBytes: UPLOAD_LIMIT }));
  };
}

async function inMemory(): Promise<Harness> {
  const { backend, root } = await openBackend();
  const transport: Transport = createRouterTransport(routesFor(backend));
  return {
    client: createClient(StorageService, transport),
    root,
    async close() {
      await backend.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function overHttp2(): Promise<Harness> {
  const { backend, root } = await openBackend();
  const server = http2.createServer(connectNodeAdapter({ routes: routesFor(backend) }));
  // Tracked so close() can end the sessions the client keeps open.
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const transport = createGrpcTransport({
    baseUrl: `http://127.0.0.1:${port}`,
    acceptCompression: [],
  });
  return {
    client: createClient(StorageService, transport),
    root,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      });
      await backend.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

function header(key: string, extra: Record<string, unknown> = {}): PutObjectRequest {
  return create(PutObjectRequestSchema, { part: { case: "header", value: { key, ...extra } } });
}

function chunk(bytes: Uint8Array): PutObjectRequest {
  return create(PutObjectRequestSchema, { part: { case: "chunk", value: bytes } });
}

async function* messages(...items: PutObjectRequest[]): AsyncGenerator<PutObjectRequest> {
  yield* items;
}

describe.each([
  ["createRouterTransport", inMemory],
  ["a connect-node HTTP/2 server with a gRPC client", overHttp2],
])("StorageService through %s", (_name, open) => {
  let harness: Harness;
  let client: StorageClient;
  beforeAll(async () => {
    harness = await open();
    client = harness.client;
  });
  afterAll(async () => {
    await harness?.close();
  });

  it("streams an upload up and a verified download back", async () => {
    const bytes = testBytes(3 * MiB + 123, 9);
    const info = await putObject(client, "svc/blob.bin", streamOf(bytes, 200_000), {
      contentType: "application/x-blob",
      expectedSha256: sha256Hex(bytes),
    });
    expect(info).toMatchObject({
      key: "svc/blob.bin",
      size: bytes.length,
      sha256: sha256Hex(bytes),
      contentType: "application/x-blob",
    });
    expect(Buffer.from(await readObject(client, "svc/blob.bin")).equals(bytes)).toBe(true);
  });

  it("sends metadata first and body chunks of at most 1 MiB", async () => {
    const bytes = testBytes(2 * MiB + 5, 2);
    await putObject(client, "svc/chunks", bytes);
    const responses = [];
    for await (const response of client.getObject({ key: "svc/chunks" })) responses.push(response);
    expect(responses[0]?.object?.size).toBe(BigInt(bytes.length));
    expect(responses.slice(1).every((r) => r.object === undefined)).toBe(true);
    expect(responses.every((r) => r.chunk.byteLength <= MiB)).toBe(true);
    expect(Buffer.concat(responses.map((r) => r.chunk)).equals(bytes)).toBe(true);
  });

  it("answers an empty object with one message carrying its metadata", async () => {
    await putObject(client, "svc/empty", new Uint8Array(0));
    const responses = [];
    for await (const response of client.getObject({ key: "svc/empty" })) responses.push(response);
    expect(responses).toHaveLength(1);
    expect(responses[0]?.object?.size).toBe(0n);
    expect((await readObject(client, "svc/empty")).byteLength).toBe(0);
  });

  it("serves a byte range", async () => {
    const bytes = testBytes(5000, 4);
    await putObject(client, "svc/range", bytes);
    const body = collect(
      (async function* () {
        for await (const r of client.getObject({ key: "svc/range", offset: 10n, length: 20n })) {
          yield r.chunk;
        }
      })(),
    );
    expect((await body).equals(bytes.subarray(10, 30))).toBe(true);
  });

  it("downloads to a file through a temp file that never stays behind", async () => {
    const bytes = testBytes(1_500_000, 8);
    await putObject(client, "svc/download", bytes);
    const directory = await mkdtemp(path.join(tmpdir(), "storaged-dl-"));
    try {
      const target = path.join(directory, "copy.bin");
      const info = await downloadObject(client, "svc/download", target);
      expect(info.sha256).toBe(sha256Hex(bytes));
      expect((await readFile(target)).equals(bytes)).toBe(true);
      expect(await readdir(directory)).toEqual(["copy.bin"]);
      await expectCode(downloadObject(client, "svc/absent", target), Code.NotFound);
      expect(await readdir(directory)).toEqual(["copy.bin"]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("refuses a stream without a header first, and a second header", async () => {
    await expectCode(
      client.putObject(messages(chunk(Buffer.from("x")))),
      Code.InvalidArgument,
      "MISSING_HEADER",
    );
    await expectCode(client.putObject(messages()), Code.InvalidArgument, "MISSING_HEADER");
    await expectCode(
      client.putObject(messages(header("svc/two"), chunk(Buffer.from("x")), header("svc/two"))),
      Code.InvalidArgument,
      "DUPLICATE_HEADER",
    );
    await expectCode(client.headObject({ key: "svc/two" }), Code.NotFound);
  });

  it("carries the contract's code and reason for each failure", async () => {
    await expectCode(
      putObject(client, "../escape", Buffer.from("x")),
      Code.InvalidArgument,
      "INVALID_KEY",
    );
    await expectCode(client.headObject({ key: "a//b" }), Code.InvalidArgument, "INVALID_KEY");
    await putObject(client, "svc/once", Buffer.from("x"), { ifNoneMatch: true });
    await expectCode(
      putObject(client, "svc/once", Buffer.from("y"), { ifNoneMatch: true }),
      Code.AlreadyExists,
      "OBJECT_EXISTS",
    );
    await expectCode(
      putObject(client, "svc/once", Buffer.from("y"), { ifMatchEtag: "stale" }),
      Code.Aborted,
      "ETAG_MISMATCH",
    );
    await expectCode(
      putObject(client, "svc/once", Buffer.from("y"), { expectedSha256: "0".repeat(64) }),
      Code.InvalidArgument,
      "CHECKSUM_MISMATCH",
    );
    await expectCode(
      putObject(client, "svc/once", Buffer.from("y"), { expectedSha256: "NOT-HEX" }),
      Code.InvalidArgument,
      "INVALID_SHA256",
    );
    await expectCode(
      putObject(client, "svc/huge", testBytes(UPLOAD_LIMIT + 1)),
      Code.ResourceExhausted,
      "OBJECT_TOO_LARGE",
    );
    await expectCode(readObject(client, "svc/absent"), Code.NotFound, "OBJECT_NOT_FOUND");
    await expectCode(
      collect(
        (async function* () {
          for await (const r of client.getObject({ key: "svc/once", offset: 5n })) yield r.chunk;
        })(),
      ),
      Code.OutOfRange,
    );
    await expectCode(
      client.getObject({ key: "svc/once", offset: -1n })[Symbol.asyncIterator]().next(),
      Code.InvalidArgument,
    );
    await expectCode(
      client.listObjects({ pageSize: 1001 }),
      Code.InvalidArgument,
      "INVALID_PAGE_SIZE",
    );
    await expectCode(client.listObjects({ prefix: "/x" }), Code.InvalidArgument, "INVALID_KEY");
    await expectCode(
      client.listObjects({ pageToken: "%%%" }),
      Code.InvalidArgument,
      "INVALID_PAGE_TOKEN",
    );
  });

  it("reports corrupted stored bytes as DATA_LOSS at the end of a whole read", async () => {
    const bytes = testBytes(100_000, 6);
    await putObject(client, "svc/rot", bytes);
    const file = path.join(harness.root, "svc", "rot");
    const stored = await readFile(file);
    stored[50] = (stored[50] ?? 0) ^ 1;
    await writeFile(file, stored);
    await expectCode(readObject(client, "svc/rot"), Code.DataLoss, "CHECKSUM_MISMATCH");
  });

  it("lists with a default page size, pages, and deletes idempotently", async () => {
    for (const key of ["p/1", "p/2", "p/3"]) await putObject(client, key, Buffer.from(key));
    const all = await client.listObjects({ prefix: "p/" });
    expect(all.objects.map((o) => o.key)).toEqual(["p/1", "p/2", "p/3"]);
    expect(all.nextPageToken).toBe("");
    const first = await client.listObjects({ prefix: "p/", pageSize: 2 });
    expect(first.objects.map((o) => o.key)).toEqual(["p/1", "p/2"]);
    const second = await client.listObjects({
      prefix: "p/",
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.objects.map((o) => o.key)).toEqual(["p/3"]);
    expect(second.nextPageToken).toBe("");
    const head = await client.headObject({ key: "p/2" });
    await expectCode(client.deleteObject({ key: "p/2", ifMatchEtag: "other" }), Code.Aborted);
    expect(
      (await client.deleteObject({ key: "p/2", ifMatchEtag: head.object?.etag })).deleted,
    ).toBe(true);
    expect((await client.deleteObject({ key: "p/2" })).deleted).toBe(false);
  });
});
