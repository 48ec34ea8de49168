import { mkdir, open, readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Code, ConnectError } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";
import { mapBounded } from "../kit/map-bounded.js";
import { readExactly } from "./file-io.js";
import { writeHashedBody } from "./hashed-body.js";
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
import { validateKey, validatePrefix } from "./object-key.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { sweepTempFiles, tempFileName } from "./temp-files.js";
import { dataLossError, verifyBody } from "./verified-body.js";

/** Options of {@link createS3Backend}. */
export interface S3BackendOptions {
  bucket: string;
  /** Prepended to every key, so one bucket can hold other data too. */
  prefix?: string;
  /** For S3-compatible stores; AWS when absent. */
  endpoint?: string;
  region: string;
  /** Path-style URLs, needed by most S3-compatible stores. */
  forcePathStyle?: boolean;
  /** Static credentials; the SDK's default chain (env, profile, IMDS) when absent. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Bodies up to this size go in one PutObject, larger ones multipart. Default 16 MiB, min 5 MiB. */
  partSizeBytes?: number;
  /** Where uploads are spooled (and hashed) before anything reaches S3. */
  spoolDirectory: string;
  /** Attempts per S3 request, with the SDK's standard backoff. Default 5. */
  maxAttempts?: number;
  /** HeadObject calls in flight while filling a listing page. Default 8. */
  listConcurrency?: number;
}

const MIN_PART_BYTES = 5 * 1024 * 1024;
const DEFAULT_PART_BYTES = 16 * 1024 * 1024;
/** The most keys one ListObjectsV2 call returns. */
const S3_MAX_KEYS = 1000;

/** Whether a listed key is an object of this service: others were not written through it. */
function isListable(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Which condition a request carried; decides what a 412 or 404 means. */
type Condition = "none" | "create" | "match";

function httpStatus(error: Error): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

const NETWORK_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND"]);

/**
 * The one place S3 SDK errors become contract codes. A 412 means "exists" for
 * a create-only write and "changed" for a compare-and-swap; a 404 on a
 * compare-and-swap means the object to compare against is gone.
 */
function s3Error(error: unknown, key: string, condition: Condition = "none"): unknown {
  if (error instanceof ConnectError || !(error instanceof Error)) return error;
  const status = httpStatus(error);
  const name = error.name;
  if (status === 412 || name === "PreconditionFailed") {
    return condition === "create"
      ? serviceError(Code.AlreadyExists, "OBJECT_EXISTS", "object already exists", { key })
      : serviceError(Code.Aborted, "ETAG_MISMATCH", "object has changed", { key });
  }
  if (name === "ConditionalRequestConflict") {
    return serviceError(Code.Aborted, "CONDITIONAL_CONFLICT", "a concurrent write won", { key });
  }
  if (name === "NoSuchBucket") {
    return serviceError(Code.Unavailable, "BUCKET_NOT_FOUND", "the storage bucket does not exist");
  }
  if (name === "NoSuchKey" || name === "NotFound" || status === 404) {
    return condition === "match"
      ? serviceError(
          Code.FailedPrecondition,
          "OBJECT_NOT_FOUND",
          "if_match_etag is set but the object does not exist",
          { key },
        )
      : serviceError(Code.NotFound, "OBJECT_NOT_FOUND", "object not found", { key });
  }
  if (name === "InvalidRange" || status === 416) {
    return serviceError(Code.OutOfRange, "OFFSET_PAST_END", "offset is past the end", { key });
  }
  const errno = (error as NodeJS.ErrnoException).code;
  if (
    (status !== undefined && status >= 500) ||
    name === "SlowDown" ||
    name === "TimeoutError" ||
    (errno !== undefined && NETWORK_ERRORS.has(errno))
  ) {
    return serviceError(Code.Unavailable, "BACKEND_UNAVAILABLE", "object store is unavailable");
  }
  return error;
}

/** S3 etags are quoted HTTP entity tags; the contract's etag is the bare value. */
function bareEtag(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}

async function* streamChunks(stream: Readable): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } finally {
    stream.destroy();
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array, void, undefined> {}

/**
 * Creates the backend for S3 and S3-compatible stores. Uploads are spooled to
 * a local file while hashed, so a wrong checksum or an oversize body never
 * reaches the bucket and every request body can be retried; then one
 * PutObject or a multipart upload (aborted on failure), conditional with
 * `If-None-Match: *` / `If-Match`. The SHA-256 and size travel as user
 * metadata. Etags are S3's: they change whenever the content does (an
 * identical rewrite may keep the same etag, which compare-and-swap tolerates).
 */
export async function createS3Backend(options: S3BackendOptions): Promise<ObjectBackend> {
  const partSize = options.partSizeBytes ?? DEFAULT_PART_BYTES;
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_BYTES) {
    throw new Error(`partSizeBytes must be an integer of at least ${MIN_PART_BYTES}`);
  }
  const keyPrefix =
    options.prefix === undefined || options.prefix === ""
      ? ""
      : options.prefix.endsWith("/")
        ? options.prefix
        : `${options.prefix}/`;
  const listConcurrency = options.listConcurrency ?? 8;
  await mkdir(options.spoolDirectory, { recursive: true });
  await sweepTempFiles(options.spoolDirectory);

  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    maxAttempts: options.maxAttempts ?? 5,
    retryMode: "standard",
    // Our own SHA-256 guards the bytes; the SDK's default aws-chunked CRC
    // framing is not understood by every S3-compatible store.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    credentials:
      options.accessKeyId !== undefined && options.secretAccessKey !== undefined
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
  });
  const Bucket = options.bucket;
  const s3Key = (key: string) => keyPrefix + key;

  function infoOf(
    key: string,
    size: number,
    output: {
      ETag?: string;
      ContentType?: string;
      LastModified?: Date;
      Metadata?: Record<string, string>;
    },
  ): ObjectInfo {
    return {
      key,
      size,
      sha256: output.Metadata?.sha256 ?? "",
      etag: bareEtag(output.ETag),
      contentType: output.ContentType || DEFAULT_CONTENT_TYPE,
      modifyTime: output.LastModified ?? new Date(0),
    };
  }

  async function head(key: string): Promise<ObjectInfo> {
    try {
      const output = await client.send(new HeadObjectCommand({ Bucket, Key: s3Key(key) }));
      return infoOf(key, output.ContentLength ?? 0, output);
    } catch (error) {
      throw s3Error(error, key);
    }
  }

  async function headOrUndefined(key: string): Promise<ObjectInfo | undefined> {
    try {
      return await head(key);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound) return undefined;
      throw error;
    }
  }

  async function uploadMultipart(
    key: string,
    spoolPath: string,
    size: number,
    common: { ContentType: string; Metadata: Record<string, string> },
    conditions: { IfNoneMatch?: string; IfMatch?: string },
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const Key = s3Key(key);
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket, Key, ...common }),
    );
    try {
      const parts: CompletedPart[] = [];
      const handle = await open(spoolPath, "r");
      // One part in memory at a time, in one reused buffer: bounded, no garbage
      // per part, and a retry (inside send) can resend it.
      const partBuffer = Buffer.allocUnsafe(Math.min(partSize, size));
      try {
        for (let PartNumber = 1, position = 0; position < size; PartNumber++) {
          signal?.throwIfAborted();
          const Body = await readExactly(
            handle,
            Math.min(partSize, size - position),
            position,
            partBuffer,
          );
          const output = await client.send(
            new UploadPartCommand({
              Bucket,
              Key,
              UploadId,
              PartNumber,
              Body,
              ContentLength: Body.length,
            }),
          );
          parts.push({ ETag: output.ETag, PartNumber });
          position += Body.length;
        }
      } finally {
        await handle.close();
      }
      signal?.throwIfAborted();
      const output = await client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: parts },
          ...conditions,
        }),
      );
      return output.ETag;
    } catch (error) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  return {
    async put(key: string, body: AsyncIterable<Uint8Array>, putOptions: PutOptions = {}) {
      validateKey(key);
      validatePutOptions(putOptions);
      const condition: Condition = putOptions.ifNoneMatch
        ? "create"
        : putOptions.ifMatchEtag !== undefined
          ? "match"
          : "none";
      const spoolPath = path.join(options.spoolDirectory, tempFileName());
      try {
        const handle = await open(spoolPath, "wx", 0o600);
        let hashed: { size: number; sha256: string };
        try {
          hashed = await writeHashedBody(handle, body, putOptions);
        } finally {
          await handle.close();
        }
        putOptions.signal?.throwIfAborted();
        const contentType = putOptions.contentType || DEFAULT_CONTENT_TYPE;
        const common = {
          ContentType: contentType,
          Metadata: { sha256: hashed.sha256, size: String(hashed.size) },
        };
        const conditions = {
          IfNoneMatch: putOptions.ifNoneMatch ? "*" : undefined,
          IfMatch: putOptions.ifMatchEtag !== undefined ? `"${putOptions.ifMatchEtag}"` : undefined,
        };
        let etag: string | undefined;
        if (hashed.size <= partSize) {
          const Body = await readFile(spoolPath);
          const output = await client.send(
            new PutObjectCommand({
              Bucket,
              Key: s3Key(key),
              Body,
              ContentLength: Body.length,
              ...common,
              ...conditions,
            }),
          );
          etag = output.ETag;
        } else {
          etag = await uploadMultipart(
            key,
            spoolPath,
            hashed.size,
            common,
            conditions,
            putOptions.signal,
          );
        }
        return {
          key,
          size: hashed.size,
          sha256: hashed.sha256,
          etag: bareEtag(etag),
          contentType,
          modifyTime: new Date(),
        };
      } catch (error) {
        throw s3Error(error, key, condition);
      } finally {
        await rm(spoolPath, { force: true });
      }
    },

    async get(key: string, range?: ByteRange): Promise<ObjectRead> {
      validateKey(key);
      const offset = range?.offset ?? 0;
      const length = range?.length ?? 0;
      if (offset === 0 && length === 0) {
        let output: GetObjectCommandOutput;
        try {
          output = await client.send(new GetObjectCommand({ Bucket, Key: s3Key(key) }));
        } catch (error) {
          throw s3Error(error, key);
        }
        const stream = output.Body as Readable;
        const info = infoOf(key, output.ContentLength ?? 0, output);
        const recorded = output.Metadata?.size;
        if (recorded !== undefined && Number(recorded) !== info.size) {
          stream.destroy();
          throw dataLossError(key, "stored object size differs from the recorded size");
        }
        return { info, body: verifyBody(streamChunks(stream), info) };
      }
      const last = length === 0 ? "" : String(offset + length - 1);
      let output: GetObjectCommandOutput;
      try {
        output = await client.send(
          new GetObjectCommand({ Bucket, Key: s3Key(key), Range: `bytes=${offset}-${last}` }),
        );
      } catch (error) {
        const mapped = s3Error(error, key);
        if (mapped instanceof ConnectError && mapped.code === Code.OutOfRange) {
          // S3 refuses any range of an empty object and a range starting at the end;
          // the contract allows offset == size (an empty read).
          const info = await head(key);
          if (offset === info.size) return { info, body: emptyBody() };
        }
        throw mapped;
      }
      const total = /\/(\d+)$/.exec(output.ContentRange ?? "")?.[1];
      const info = infoOf(
        key,
        total !== undefined ? Number(total) : (output.ContentLength ?? 0),
        output,
      );
      return { info, body: streamChunks(output.Body as Readable) };
    },

    async head(key: string) {
      validateKey(key);
      return head(key);
    },

    async list(
      prefix: string,
      pageSize: number,
      pageToken: string,
      listOptions: ListOptions = {},
    ): Promise<ObjectPage> {
      validatePrefix(prefix);
      let after = decodePageToken(pageToken);
      const objects: ObjectInfo[] = [];
      // Keys left out, foreign or deleted meanwhile leave a page short: list on
      // until it is full. Only the first request is sized to the page; later
      // ones, which only skipped keys call for, take S3's largest page.
      for (let maxKeys = pageSize; ; maxKeys = S3_MAX_KEYS) {
        let output: ListObjectsV2CommandOutput;
        try {
          output = await client.send(
            new ListObjectsV2Command({
              Bucket,
              Prefix: s3Key(prefix),
              MaxKeys: maxKeys,
              StartAfter: after === "" ? undefined : s3Key(after),
            }),
          );
        } catch (error) {
          throw s3Error(error, prefix);
        }
        const listed = (output.Contents ?? []).map((entry) =>
          (entry.Key ?? "").slice(keyPrefix.length),
        );
        const wanted: string[] = [];
        let consumed = 0;
        for (const key of listed) {
          if (objects.length + wanted.length === pageSize) break;
          consumed++;
          if (isListable(key) && (listOptions.include?.(key) ?? true)) wanted.push(key);
        }
        // Listing carries no user metadata: the SHA-256 needs one HeadObject per key.
        const infos = await mapBounded(wanted, listConcurrency, headOrUndefined);
        objects.push(...infos.filter((info): info is ObjectInfo => info !== undefined));
        const more = consumed < listed.length || (output.IsTruncated === true && consumed > 0);
        if (!more) return { objects, nextPageToken: "" };
        if (objects.length === pageSize) {
          // The page's last object, never a key it skipped: the token names only what it showed.
          return { objects, nextPageToken: encodePageToken(objects[objects.length - 1]!.key) };
        }
        after = listed[consumed - 1]!;
      }
    },

    async delete(key: string, deleteOptions: { ifMatchEtag?: string } = {}) {
      validateKey(key);
      const ifMatch = deleteOptions.ifMatchEtag;
      if (ifMatch !== undefined) validateEtag(ifMatch);
      // S3 answers a delete of a missing key with success too: look first to tell.
      const current = await headOrUndefined(key);
      if (current === undefined) return false;
      if (ifMatch !== undefined && current.etag !== ifMatch) {
        throw serviceError(Code.Aborted, "ETAG_MISMATCH", "object has changed", { key });
      }
      try {
        await client.send(
          new DeleteObjectCommand({
            Bucket,
            Key: s3Key(key),
            IfMatch: ifMatch !== undefined ? `"${ifMatch}"` : undefined,
          }),
        );
      } catch (error) {
        const mapped = s3Error(error, key);
        if (mapped instanceof ConnectError && mapped.code === Code.NotFound) return false;
        throw mapped;
      }
      return true;
    },

    async close() {
      client.destroy();
    },
  };
}
