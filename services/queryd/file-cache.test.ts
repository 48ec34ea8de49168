import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { errorReason } from "../kit/errors.js";
import { putObject, type StorageClient, sha256Hex } from "../storaged/client.js";
import { createLocalBackend } from "../storaged/local-backend.js";
import { createStorageService } from "../storaged/storage-service.js";
import { type CacheFileRef, createFileCache } from "./file-cache.js";

let root: string;
let storage: StorageClient;
const reads: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "queryd-cache-"));
  const backend = await createLocalBackend({ root: join(root, "objects") });
  const countReads: Interceptor = (next) => async (request) => {
    if (request.method.name === "GetObject") reads.push(request.method.name);
    return next(request);
  };
  storage = createClient(
    StorageService,
    createRouterTransport(
      (router) => router.service(StorageService, createStorageService(backend)),
      {
        transport: { interceptors: [countReads] },
      },
    ),
  );
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let objects = 0;

/** GetObject calls since the last reset, one entry per call. */
const fetched = (count: number) => Array.from({ length: count }, () => "GetObject");

/** Stores `size` distinct bytes and returns the file as a snapshot would list it. */
async function stored(size: number): Promise<CacheFileRef & { bytes: Buffer }> {
  const bytes = Buffer.alloc(size, ++objects);
  const key = `datasets/d/data/f${objects}.parquet`;
  await putObject(storage, key, bytes);
  return { key, sha256: sha256Hex(bytes), size: BigInt(size), bytes };
}

const cacheDir = (name: string) => join(root, name);

describe("the file cache", () => {
  it("fetches a missing file once into <sha[0:2]>/<sha>.parquet, however many queries want it", async () => {
    const cache = await createFileCache({
      directory: cacheDir("dedup"),
      maxBytes: 1 << 20,
      storage,
    });
    const file = await stored(1000);
    reads.length = 0;
    const leases = await Promise.all([
      cache.acquire([file]),
      cache.acquire([file]),
      cache.acquire([file, file]),
    ]);
    expect(reads).toEqual(fetched(1));
    const expectedPath = join(cacheDir("dedup"), file.sha256.slice(0, 2), `${file.sha256}.parquet`);
    expect(leases.map((l) => l.paths)).toEqual([
      [expectedPath],
      [expectedPath],
      [expectedPath, expectedPath],
    ]);
    expect(await readFile(expectedPath)).toEqual(file.bytes);
    for (const lease of leases) lease.release();
    await cache.acquire([file]).then((lease) => lease.release());
    expect(reads).toEqual(fetched(1));
  });

  it("answers DATA_LOSS and keeps nothing when storage holds other bytes than the catalog recorded", async () => {
    const cache = await createFileCache({
      directory: cacheDir("mismatch"),
      maxBytes: 1 << 20,
      storage,
    });
    const file = await stored(100);
    const error = await cache
      .acquire([{ ...file, sha256: "ab".repeat(32) }])
      .catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.DataLoss);
    expect(errorReason(error)).toBe("CHECKSUM_MISMATCH");
    expect(await readdir(join(cacheDir("mismatch"), "ab"))).toEqual([]);
    expect(cache.usedBytes()).toBe(0);
  });

  it("refuses a malformed checksum rather than building a path from it", async () => {
    const cache = await createFileCache({
      directory: cacheDir("malformed"),
      maxBytes: 1 << 20,
      storage,
    });
    const file = await stored(10);
    const error = await cache
      .acquire([{ ...file, sha256: "../../etc/passwd" }])
      .catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.DataLoss);
  });

  it("evicts least recently used files beyond its size, never one a running query holds", async () => {
    const cache = await createFileCache({ directory: cacheDir("lru"), maxBytes: 2500, storage });
    const [a, b, c, d] = [
      await stored(1000),
      await stored(1000),
      await stored(1000),
      await stored(1000),
    ];
    const held = await cache.acquire([a]);
    await cache.acquire([b]).then((lease) => lease.release());
    await cache.acquire([c]).then((lease) => lease.release());
    // a (held) and c stay; b, the least recently used free file, went.
    expect(cache.usedBytes()).toBe(2000);
    reads.length = 0;
    await cache.acquire([c]).then((lease) => lease.release());
    expect(reads).toEqual(fetched(0));
    await cache.acquire([d]).then((lease) => lease.release());
    // a is still held, so c (older than d) is evicted.
    expect(await readFile(held.paths[0] ?? "")).toEqual(a.bytes);
    held.release();
    await cache.acquire([b]).then((lease) => lease.release());
    expect(reads).toEqual(fetched(2));
    expect(cache.usedBytes()).toBeLessThanOrEqual(2500);
  });

  it("counts an attachment against its size and gives attachments up before any file", async () => {
    const cache = await createFileCache({ directory: cacheDir("attach"), maxBytes: 2500, storage });
    const [a, b, c, d] = [
      await stored(1000),
      await stored(500),
      await stored(600),
      await stored(900),
    ];
    const detached: string[] = [];
    const held = await cache.acquire([a]);
    expect(cache.attach(a.sha256, 700, () => detached.push("a"))).toBe(true);
    // A file has one attachment, and one not cached has none.
    expect(cache.attach(a.sha256, 1, () => detached.push("again"))).toBe(false);
    expect(cache.attach(b.sha256, 1, () => detached.push("b"))).toBe(false);
    expect(cache.usedBytes()).toBe(1700);
    expect(cache.room()).toBe(800);
    held.release();
    await cache.acquire([b]).then((lease) => lease.release());
    expect(cache.attach(b.sha256, 100, () => detached.push("b"))).toBe(true);
    expect(detached).toEqual([]);
    // 2300 + 600 > 2500: a's attachment, the least recently used, goes; every file stays.
    await cache.acquire([c]).then((lease) => lease.release());
    expect(detached).toEqual(["a"]);
    expect(cache.usedBytes()).toBe(2200);
    reads.length = 0;
    await cache.acquire([a, b, c]).then((lease) => lease.release());
    expect(reads).toEqual(fetched(0));
    // 2200 + 900: b's attachment goes first, then the least recently used file (a) with it.
    await cache.acquire([d]).then((lease) => lease.release());
    expect(detached).toEqual(["a", "b"]);
    expect(cache.usedBytes()).toBe(2000);
    expect(cache.pinIfCached(a.sha256)).toBeUndefined();
  });

  it("pins a file only if it is cached, fetching nothing", async () => {
    const cache = await createFileCache({ directory: cacheDir("pin"), maxBytes: 1500, storage });
    const [a, b] = [await stored(1000), await stored(1000)];
    reads.length = 0;
    expect(cache.pinIfCached(a.sha256)).toBeUndefined();
    expect(reads).toEqual(fetched(0));
    await cache.acquire([a]).then((lease) => lease.release());
    const held = cache.pinIfCached(a.sha256);
    expect(held?.paths).toEqual([
      join(cacheDir("pin"), a.sha256.slice(0, 2), `${a.sha256}.parquet`),
    ]);
    // Over size, yet a is held: b, just released, goes instead.
    await cache.acquire([b]).then((lease) => lease.release());
    expect(await readFile(held?.paths[0] ?? "")).toEqual(a.bytes);
    held?.release();
    expect(cache.pinIfCached(b.sha256)).toBeUndefined();
  });

  it("reopens with the files already on disk and removes interrupted downloads and copies", async () => {
    const directory = cacheDir("reopen");
    const first = await createFileCache({ directory, maxBytes: 1 << 20, storage });
    const file = await stored(500);
    await first.acquire([file]).then((lease) => lease.release());
    const shard = join(directory, file.sha256.slice(0, 2));
    await writeFile(join(shard, `${file.sha256}.parquet.123.part`), "partial");
    await writeFile(join(shard, `${file.sha256}.duckdb`), "a copy of another run");
    await mkdir(join(directory, "staging"), { recursive: true });
    await writeFile(join(directory, "staging", "left.parquet"), "x");
    reads.length = 0;
    const reopened = await createFileCache({ directory, maxBytes: 1 << 20, storage });
    expect(reopened.usedBytes()).toBe(500);
    await reopened.acquire([file]).then((lease) => lease.release());
    expect(reads).toEqual(fetched(0));
    expect(await readdir(shard)).toEqual([`${file.sha256}.parquet`]);
    expect(await readdir(reopened.stagingDirectory)).toEqual([]);
  });
});
