import { randomBytes } from "node:crypto";
import { constants, type Dirent } from "node:fs";
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rmdir,
  unlink,
} from "node:fs/promises";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";
import { CHUNK_BYTES } from "./byte-chunks.js";
import { readExactly } from "./file-io.js";
import { writeHashedBody } from "./hashed-body.js";
import { createKeyMutex } from "./key-mutex.js";
import {
  type ByteRange,
  DEFAULT_CONTENT_TYPE,
  type ListOptions,
  type ObjectBackend,
  type ObjectInfo,
  type ObjectPage,
  type ObjectRead,
  type PutOptions,
  validateEtag,
  validatePutOptions,
} from "./object-backend.js";
import { compareKeys, TEMP_SUFFIX, validateKey, validatePrefix } from "./object-key.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { sweepTempFiles, tempFileName } from "./temp-files.js";
import { dataLossError, verifyBody } from "./verified-body.js";

/** Options of {@link createLocalBackend}. */
export interface LocalBackendOptions {
  /** Directory holding the objects; created when missing. One process per root. */
  root: string;
}

/*
 * One file per object: the body, then a JSON trailer, then the trailer length
 * (8 bytes, big-endian) and a magic. One rename publishes body and metadata
 * together, and a range read is a plain file offset.
 */
const MAGIC = Buffer.from("LHOBJ01\n", "latin1");
const FOOTER_BYTES = 16;
const MAX_TRAILER_BYTES = 64 * 1024;
const OPEN_TEMP_ATTEMPTS = 5;

interface Trailer {
  v: 1;
  key: string;
  size: number;
  sha256: string;
  etag: string;
  contentType: string;
  modifyTime: number;
}

function errnoCode(error: unknown): string | undefined {
  return error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
}

function notFound(key: string): ConnectError {
  return serviceError(Code.NotFound, "OBJECT_NOT_FOUND", "object not found", { key });
}

function keyConflict(key: string): ConnectError {
  return serviceError(
    Code.FailedPrecondition,
    "KEY_CONFLICT",
    "key clashes with a prefix of another key (or another key is a prefix of it)",
    { key },
  );
}

/**
 * The one place file-system errors become contract codes. Reads treat any
 * missing, non-file or symlinked path as NOT_FOUND; writes report a file/
 * directory clash as KEY_CONFLICT. Unknown errors pass through (INTERNAL).
 */
function fsError(error: unknown, key: string, op: "read" | "write"): unknown {
  if (error instanceof ConnectError) return error;
  const code = errnoCode(error);
  switch (code) {
    case "ENOENT":
    case "ELOOP":
      return op === "read"
        ? notFound(key)
        : serviceError(Code.InvalidArgument, "UNSAFE_PATH", "key path is not writable", { key });
    case "ENOTDIR":
    case "EISDIR":
      return op === "read" ? notFound(key) : keyConflict(key);
    case "EEXIST":
      return serviceError(Code.AlreadyExists, "OBJECT_EXISTS", "object already exists", { key });
    case "ENAMETOOLONG":
      return serviceError(
        Code.InvalidArgument,
        "INVALID_KEY",
        "a key segment is too long for the local file system",
        { rule: "segment-length" },
      );
    case "ENOSPC":
    case "EDQUOT":
      return serviceError(Code.ResourceExhausted, "STORAGE_FULL", "storage is full");
    default:
      return error;
  }
}

function parseTrailer(text: string): Trailer | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const t = value as Record<string, unknown>;
    const ok =
      t.v === 1 &&
      typeof t.key === "string" &&
      Number.isSafeInteger(t.size) &&
      typeof t.sha256 === "string" &&
      typeof t.etag === "string" &&
      typeof t.contentType === "string" &&
      typeof t.modifyTime === "number";
    return ok ? (value as Trailer) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the trailer of an opened object file and checks it against the file. */
async function readObjectInfo(handle: FileHandle, key: string): Promise<ObjectInfo> {
  const stat = await handle.stat();
  if (!stat.isFile()) throw notFound(key);
  if (stat.size < FOOTER_BYTES) throw dataLossError(key, "stored object is truncated");
  const footer = await readExactly(handle, FOOTER_BYTES, stat.size - FOOTER_BYTES);
  if (footer.length !== FOOTER_BYTES || !footer.subarray(8).equals(MAGIC)) {
    throw dataLossError(key, "stored object has no valid trailer");
  }
  const trailerBytes = Number(footer.readBigUInt64BE(0));
  if (trailerBytes > MAX_TRAILER_BYTES || trailerBytes > stat.size - FOOTER_BYTES) {
    throw dataLossError(key, "stored object has a corrupt trailer");
  }
  const bodySize = stat.size - FOOTER_BYTES - trailerBytes;
  const trailerText = (await readExactly(handle, trailerBytes, bodySize)).toString("utf8");
  const trailer = parseTrailer(trailerText);
  if (trailer === undefined || trailer.key !== key) {
    throw dataLossError(key, "stored object has a corrupt trailer");
  }
  if (trailer.size !== bodySize) {
    throw dataLossError(key, "stored object size differs from the recorded size");
  }
  return {
    key,
    size: trailer.size,
    sha256: trailer.sha256,
    etag: trailer.etag,
    contentType: trailer.contentType,
    modifyTime: new Date(trailer.modifyTime),
  };
}

function encodeTrailer(trailer: Trailer): Buffer {
  const json = Buffer.from(JSON.stringify(trailer), "utf8");
  const footer = Buffer.alloc(FOOTER_BYTES);
  footer.writeBigUInt64BE(BigInt(json.length), 0);
  MAGIC.copy(footer, 8);
  return Buffer.concat([json, footer]);
}

async function* readRange(
  handle: FileHandle,
  key: string,
  start: number,
  end: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    let position = start;
    while (position < end) {
      const chunk = await readExactly(handle, Math.min(CHUNK_BYTES, end - position), position);
      if (chunk.length === 0) throw dataLossError(key, "stored object is truncated");
      position += chunk.length;
      yield chunk;
    }
  } finally {
    await handle.close();
  }
}

async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates the embedded backend: objects as files under `root`. Writes go to a
 * temp file in the target directory, are fsynced, published by one rename (or
 * `link` for create-only, which fails atomically when the key exists), and the
 * directory is fsynced: a crash never exposes a torn object. Paths never pass
 * through a symlink, so nothing outside `root` is read or written. Temp files
 * left by a crash are swept at open.
 */
export async function createLocalBackend(options: LocalBackendOptions): Promise<ObjectBackend> {
  await mkdir(options.root, { recursive: true });
  const root = await realpath(options.root);
  await sweepTempFiles(root);
  const mutex = createKeyMutex();

  const objectPath = (key: string) => path.join(root, ...key.split("/"));

  /** True when no component between root and the object's directory is a symlink. */
  async function parentIsInsideRoot(key: string): Promise<boolean> {
    const parent = path.dirname(objectPath(key));
    try {
      return (await realpath(parent)) === parent;
    } catch (error) {
      const mapped = fsError(error, key, "read");
      if (mapped instanceof ConnectError && mapped.code === Code.NotFound) return false;
      throw mapped;
    }
  }

  async function openObject(key: string): Promise<{ handle: FileHandle; info: ObjectInfo }> {
    if (!(await parentIsInsideRoot(key))) throw notFound(key);
    let handle: FileHandle;
    try {
      handle = await open(objectPath(key), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      throw fsError(error, key, "read");
    }
    try {
      return { handle, info: await readObjectInfo(handle, key) };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async function headOrUndefined(key: string): Promise<ObjectInfo | undefined> {
    try {
      const { handle, info } = await openObject(key);
      await handle.close();
      return info;
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound) return undefined;
      throw error;
    }
  }

  /** Creates the key's directories one level at a time, refusing symlinks and files. */
  async function ensureParentDirectory(key: string): Promise<string> {
    let directory = root;
    for (const segment of key.split("/").slice(0, -1)) {
      const parent = directory;
      directory = path.join(directory, segment);
      try {
        await mkdir(directory);
        await fsyncDirectory(parent);
      } catch (error) {
        if (errnoCode(error) !== "EEXIST") throw fsError(error, key, "write");
        const stat = await lstat(directory);
        if (stat.isSymbolicLink()) {
          throw serviceError(
            Code.InvalidArgument,
            "UNSAFE_PATH",
            "key path passes through a symlink",
            { key },
          );
        }
        if (!stat.isDirectory()) throw keyConflict(key);
      }
    }
    return directory;
  }

  async function openTemp(
    key: string,
  ): Promise<{ handle: FileHandle; tempPath: string; directory: string }> {
    // A concurrent delete may remove an emptied directory between mkdir and open: retry.
    for (let attempt = 1; ; attempt++) {
      const directory = await ensureParentDirectory(key);
      const tempPath = path.join(directory, tempFileName());
      try {
        const flags =
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
        return { handle: await open(tempPath, flags, 0o644), tempPath, directory };
      } catch (error) {
        if (errnoCode(error) !== "ENOENT" || attempt >= OPEN_TEMP_ATTEMPTS) {
          throw fsError(error, key, "write");
        }
      }
    }
  }

  async function publish(key: string, tempPath: string, options: PutOptions): Promise<void> {
    const finalPath = objectPath(key);
    const existing = await lstat(finalPath).catch(() => undefined);
    if (existing?.isDirectory()) throw keyConflict(key);
    try {
      if (options.ifNoneMatch) {
        await link(tempPath, finalPath);
        return;
      }
      if (options.ifMatchEtag !== undefined) {
        const current = await headOrUndefined(key);
        if (current === undefined) {
          throw serviceError(
            Code.FailedPrecondition,
            "OBJECT_NOT_FOUND",
            "if_match_etag is set but the object does not exist",
            { key },
          );
        }
        if (current.etag !== options.ifMatchEtag) {
          throw serviceError(Code.Aborted, "ETAG_MISMATCH", "object has changed", { key });
        }
      }
      await rename(tempPath, finalPath);
    } catch (error) {
      throw fsError(error, key, "write");
    }
  }

  async function removeEmptyParents(key: string): Promise<void> {
    const segments = key.split("/").slice(0, -1);
    while (segments.length > 0) {
      try {
        await rmdir(path.join(root, ...segments));
      } catch {
        return;
      }
      segments.pop();
    }
  }

  /** Yields keys under `directory` (whose key prefix is `directoryKey`) in byte order. */
  async function* walkKeys(
    directory: string,
    directoryKey: string,
    namePrefix: string,
    after: string,
  ): AsyncGenerator<string, void, undefined> {
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw error;
    }
    const items = entries
      .filter(
        (entry) =>
          (entry.isFile() || entry.isDirectory()) &&
          entry.name.startsWith(namePrefix) &&
          !entry.name.endsWith(TEMP_SUFFIX),
      )
      .map((entry) => ({
        name: entry.name,
        isDirectory: entry.isDirectory(),
        // Sorting a directory as "name/" puts its keys exactly where byte order wants them.
        sortKey: directoryKey + entry.name + (entry.isDirectory() ? "/" : ""),
      }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const item of items) {
      if (item.isDirectory) {
        // Skip subtrees whose every key sorts at or before the resume point.
        if (
          after !== "" &&
          compareKeys(item.sortKey, after) <= 0 &&
          !after.startsWith(item.sortKey)
        ) {
          continue;
        }
        yield* walkKeys(path.join(directory, item.name), item.sortKey, "", after);
      } else if (after === "" || compareKeys(item.sortKey, after) > 0) {
        try {
          yield validateKey(item.sortKey);
        } catch {
          // A foreign file whose name is no valid key is not an object.
        }
      }
    }
  }

  return {
    async put(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions = {}) {
      validateKey(key);
      validatePutOptions(options);
      const { handle, tempPath, directory } = await openTemp(key);
      let failed = false;
      try {
        let info: ObjectInfo;
        try {
          const hashed = await writeHashedBody(handle, body, options);
          const trailer: Trailer = {
            v: 1,
            key,
            size: hashed.size,
            sha256: hashed.sha256,
            etag: randomBytes(16).toString("hex"),
            contentType: options.contentType || DEFAULT_CONTENT_TYPE,
            modifyTime: Date.now(),
          };
          await handle.write(encodeTrailer(trailer));
          await handle.sync();
          info = { ...trailer, modifyTime: new Date(trailer.modifyTime) };
        } finally {
          await handle.close();
        }
        return await mutex.run(key, async () => {
          options.signal?.throwIfAborted();
          await publish(key, tempPath, options);
          await fsyncDirectory(directory);
          return {
            key,
            size: info.size,
            sha256: info.sha256,
            etag: info.etag,
            contentType: info.contentType,
            modifyTime: info.modifyTime,
          };
        });
      } catch (error) {
        failed = true;
        throw fsError(error, key, "write");
      } finally {
        // Gone already after a rename; after a link it is the second name to drop.
        await unlink(tempPath).catch(() => undefined);
        // A failed first write under a new prefix leaves no empty folders behind.
        if (failed) await removeEmptyParents(key);
      }
    },

    async get(key: string, range?: ByteRange): Promise<ObjectRead> {
      validateKey(key);
      const { handle, info } = await openObject(key);
      try {
        const offset = range?.offset ?? 0;
        const length = range?.length ?? 0;
        if (offset > info.size) {
          throw serviceError(Code.OutOfRange, "OFFSET_PAST_END", "offset is past the end", { key });
        }
        const end = length === 0 ? info.size : Math.min(info.size, offset + length);
        const raw = readRange(handle, key, offset, end);
        // Only a read without a range is checksummed, as on every backend.
        const whole = offset === 0 && length === 0;
        return { info, body: whole ? verifyBody(raw, info) : raw };
      } catch (error) {
        await handle.close();
        throw error;
      }
    },

    async head(key: string) {
      validateKey(key);
      const { handle, info } = await openObject(key);
      await handle.close();
      return info;
    },

    async list(
      prefix: string,
      pageSize: number,
      pageToken: string,
      options: ListOptions = {},
    ): Promise<ObjectPage> {
      validatePrefix(prefix);
      const after = decodePageToken(pageToken);
      const slash = prefix.lastIndexOf("/");
      const directoryKey = prefix.slice(0, slash + 1);
      const namePrefix = prefix.slice(slash + 1);
      const directory = path.join(root, ...directoryKey.split("/").filter((s) => s !== ""));
      const objects: ObjectInfo[] = [];
      let nextPageToken = "";
      if (directoryKey !== "" && !(await parentIsInsideRoot(`${directoryKey}x`))) {
        return { objects, nextPageToken };
      }
      for await (const key of walkKeys(directory, directoryKey, namePrefix, after)) {
        // Checked first, so a token is given only when a key the caller sees follows.
        if (options.include !== undefined && !options.include(key)) continue;
        if (objects.length === pageSize) {
          nextPageToken = encodePageToken(objects[objects.length - 1]!.key);
          break;
        }
        try {
          const info = await headOrUndefined(key);
          if (info !== undefined) objects.push(info);
        } catch {
          // A corrupt object is reported by reads (DATA_LOSS), not by failing the listing.
        }
      }
      return { objects, nextPageToken };
    },

    async delete(key: string, options: { ifMatchEtag?: string } = {}) {
      validateKey(key);
      if (options.ifMatchEtag !== undefined) validateEtag(options.ifMatchEtag);
      return mutex.run(key, async () => {
        if (!(await parentIsInsideRoot(key))) return false;
        const finalPath = objectPath(key);
        if (options.ifMatchEtag !== undefined) {
          const current = await headOrUndefined(key);
          if (current === undefined) return false;
          if (current.etag !== options.ifMatchEtag) {
            throw serviceError(Code.Aborted, "ETAG_MISMATCH", "object has changed", { key });
          }
        } else {
          const stat = await lstat(finalPath).catch(() => undefined);
          if (!stat?.isFile()) return false;
        }
        try {
          await unlink(finalPath);
        } catch (error) {
          if (errnoCode(error) === "ENOENT") return false;
          throw fsError(error, key, "write");
        }
        await fsyncDirectory(path.dirname(finalPath));
        await removeEmptyParents(key);
        return true;
      });
    },

    async close() {},
  };
}
