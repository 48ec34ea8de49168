import { randomUUID } from "node:crypto";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";
import { inSpan } from "../kit/telemetry/tracer.js";
import { downloadObject, type StorageClient } from "../storaged/client.js";

/** A data file as a snapshot lists it. */
export interface CacheFileRef {
  readonly key: string;
  readonly sha256: string;
  readonly size: bigint | number;
}

/** Files held in the cache for one query; they are not evicted until released. */
export interface CacheLease {
  /** Absolute local paths, in the order the files were asked for. */
  readonly paths: readonly string[];
  /** Unpins the files (later calls do nothing). */
  release(): void;
}

/** Options of {@link createFileCache}. */
export interface FileCacheOptions {
  /** The cache root (DuckDB's only allowed directory). */
  readonly directory: string;
  /** Bytes the cache may hold; least recently used unpinned files go first. */
  readonly maxBytes: number;
  readonly storage: StorageClient;
}

/**
 * A content-addressed local copy of data files
 * (`<dir>/<sha256[0:2]>/<sha256>.parquet`), so DuckDB reads local files while
 * the bytes live in storaged. A file is named by the SHA-256 the catalog
 * recorded and only ever holds bytes verified against it.
 */
export interface FileCache {
  /**
   * Makes sure every file is present (fetching missing ones, each once however
   * many queries want it) and pins them until the lease is released.
   *
   * @throws DATA_LOSS (CHECKSUM_MISMATCH) when storage holds other bytes than
   * the catalog recorded; storage errors as they come.
   */
  acquire(files: readonly CacheFileRef[], signal?: AbortSignal): Promise<CacheLease>;
  /** Pins a file only if it is cached now (no fetch): for work worth doing only then. */
  pinIfCached(sha256: string): CacheLease | undefined;
  /**
   * Attaches something derived from a cached file (a copy in another format):
   * its `bytes` count against the cache's size from now on, and `detach` runs
   * when it is given up. Attachments only speed files up, so over size they go
   * first, least recently used first, and files only once none is left
   * unpinned. Returns false, and attaches nothing, when the file is not cached
   * or already has an attachment.
   */
  attach(sha256: string, bytes: number, detach: () => void): boolean;
  /** Bytes the cache may still take before it evicts anything. */
  room(): number;
  /** A directory inside the cache root for files the engine writes itself. */
  readonly stagingDirectory: string;
  /** Bytes held now. */
  usedBytes(): number;
}

interface Entry {
  readonly path: string;
  readonly size: number;
  pins: number;
  lastUse: number;
  attachment?: { readonly bytes: number; readonly detach: () => void };
}

/** Files of one acquire found in the cache, and those that had to be (or were being) fetched. */
interface Tally {
  hits: number;
  misses: number;
}

interface Fetch {
  readonly done: Promise<void>;
  /** Queries waiting for this fetch; each gets a pin when it lands. */
  waiters: number;
}

const SHA256 = /^[0-9a-f]{64}$/;
const STAGING = "staging";

/**
 * Opens the cache: indexes the files already there (oldest modification
 * first in the eviction order) and removes leftovers of interrupted fetches.
 */
export async function createFileCache(options: FileCacheOptions): Promise<FileCache> {
  const root = path.resolve(options.directory);
  const stagingDirectory = path.join(root, STAGING);
  await rm(stagingDirectory, { recursive: true, force: true });
  await mkdir(stagingDirectory, { recursive: true });
  const entries = new Map<string, Entry>();
  const fetches = new Map<string, Fetch>();
  let clock = 0;
  let used = 0;

  const found: { sha: string; path: string; size: number; mtime: number }[] = [];
  for (const shard of await readdir(root)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of await readdir(path.join(root, shard))) {
      const filePath = path.join(root, shard, name);
      const sha = name.slice(0, -".parquet".length);
      if (!name.endsWith(".parquet") || !SHA256.test(sha) || sha.slice(0, 2) !== shard) {
        await rm(filePath, { force: true, recursive: true });
        continue;
      }
      const info = await stat(filePath);
      found.push({ sha, path: filePath, size: info.size, mtime: info.mtimeMs });
    }
  }
  found.sort((a, b) => a.mtime - b.mtime);
  for (const file of found) {
    entries.set(file.sha, { path: file.path, size: file.size, pins: 0, lastUse: ++clock });
    used += file.size;
  }

  const pathOf = (sha: string) => path.join(root, sha.slice(0, 2), `${sha}.parquet`);

  async function fetchFile(file: CacheFileRef, sha: string): Promise<void> {
    return inSpan(
      "file-cache.fetch",
      { "lakehouse.storage.key": file.key, "lakehouse.storage.size": Number(file.size) },
      () => download(file, sha),
    );
  }

  async function download(file: CacheFileRef, sha: string): Promise<void> {
    const finalPath = pathOf(sha);
    await mkdir(path.dirname(finalPath), { recursive: true });
    const partPath = `${finalPath}.${randomUUID()}.part`;
    try {
      const info = await downloadObject(options.storage, file.key, partPath);
      if (info.sha256 !== sha || BigInt(info.size) !== BigInt(file.size)) {
        throw serviceError(
          Code.DataLoss,
          "CHECKSUM_MISMATCH",
          `object ${file.key} no longer matches the checksum the catalog recorded`,
          { key: file.key, expectedSha256: sha, actualSha256: info.sha256 },
        );
      }
      await rename(partPath, finalPath);
    } finally {
      await rm(partPath, { force: true });
    }
  }

  function detach(entry: Entry): void {
    const { attachment } = entry;
    if (attachment === undefined) return;
    entry.attachment = undefined;
    used -= attachment.bytes;
    attachment.detach();
  }

  function evict(): void {
    if (used <= options.maxBytes) return;
    const candidates = [...entries].filter(([, entry]) => entry.pins === 0);
    candidates.sort(([, a], [, b]) => a.lastUse - b.lastUse);
    for (const [, entry] of candidates) {
      if (used <= options.maxBytes) return;
      detach(entry);
    }
    for (const [sha, entry] of candidates) {
      if (used <= options.maxBytes) break;
      entries.delete(sha);
      used -= entry.size;
      void rm(entry.path, { force: true });
    }
  }

  /** Resolves when the file is present and pinned for the caller; counts it a hit or a miss. */
  async function pin(file: CacheFileRef, tally: Tally, signal?: AbortSignal): Promise<Entry> {
    const sha = file.sha256;
    if (!SHA256.test(sha)) {
      throw serviceError(
        Code.DataLoss,
        "INVALID_CHECKSUM",
        `the catalog lists ${file.key} with a malformed SHA-256`,
      );
    }
    const present = entries.get(sha);
    tally[present ? "hits" : "misses"]++;
    if (present) {
      present.pins++;
      present.lastUse = ++clock;
      return present;
    }
    let fetch = fetches.get(sha);
    if (fetch === undefined) {
      // The fetch is shared: it runs to the end even when the query that
      // started it goes away, so the others waiting for it still get the file.
      const started: Fetch = {
        waiters: 0,
        done: fetchFile(file, sha).then(
          () => {
            fetches.delete(sha);
            const entry = {
              path: pathOf(sha),
              size: Number(file.size),
              pins: started.waiters,
              lastUse: ++clock,
            };
            entries.set(sha, entry);
            used += entry.size;
          },
          (error: unknown) => {
            fetches.delete(sha);
            throw error;
          },
        ),
      };
      fetch = started;
      fetches.set(sha, fetch);
    }
    const waiting = fetch;
    waiting.waiters++;
    try {
      await abortable(waiting.done, signal);
    } catch (error) {
      waiting.waiters--;
      throw error;
    }
    const entry = entries.get(sha);
    if (entry === undefined) throw new Error(`cache entry ${sha} vanished while pinned`);
    return entry;
  }

  /** A lease over pinned entries: releasing it unpins them once and evicts what is over size. */
  function leaseOf(paths: readonly string[], pinned: readonly Entry[]): CacheLease {
    let released = false;
    return {
      paths,
      release() {
        if (released) return;
        released = true;
        for (const entry of pinned) entry.pins--;
        evict();
      },
    };
  }

  async function acquire(
    files: readonly CacheFileRef[],
    tally: Tally,
    signal?: AbortSignal,
  ): Promise<CacheLease> {
    const pinned: Entry[] = [];
    const settled = await Promise.allSettled(
      files.map(async (file) => {
        const entry = await pin(file, tally, signal);
        pinned.push(entry);
        return entry.path;
      }),
    );
    const failure = settled.find((result) => result.status === "rejected");
    if (failure) {
      leaseOf([], pinned).release();
      throw failure.reason;
    }
    evict();
    return leaseOf(
      settled.map((result) => (result as PromiseFulfilledResult<string>).value),
      pinned,
    );
  }

  function pinIfCached(sha: string): CacheLease | undefined {
    const entry = entries.get(sha);
    if (entry === undefined) return undefined;
    entry.pins++;
    entry.lastUse = ++clock;
    return leaseOf([entry.path], [entry]);
  }

  function attach(sha: string, bytes: number, onDetach: () => void): boolean {
    const entry = entries.get(sha);
    if (entry === undefined || entry.attachment !== undefined) return false;
    entry.attachment = { bytes, detach: onDetach };
    used += bytes;
    evict();
    return true;
  }

  return {
    stagingDirectory,
    pinIfCached,
    attach,
    room: () => Math.max(0, options.maxBytes - used),
    usedBytes: () => used,
    acquire: (files, signal) =>
      inSpan("file-cache.acquire", { "lakehouse.cache.files": files.length }, async (span) => {
        const tally: Tally = { hits: 0, misses: 0 };
        try {
          return await acquire(files, tally, signal);
        } finally {
          span.setAttributes({
            "lakehouse.cache.hits": tally.hits,
            "lakehouse.cache.misses": tally.misses,
          });
        }
      }),
  };
}

/** Waits for `promise`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(ConnectError.from(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(ConnectError.from(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
