import { createHash } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { type Client, Code } from "@connectrpc/connect";
import {
  type GetObjectResponse,
  type PutObjectRequest,
  PutObjectRequestSchema,
  type StorageService,
} from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { serviceError } from "../kit/errors.js";
import { CHUNK_BYTES, rechunk } from "./byte-chunks.js";
import { writeFully } from "./file-io.js";
import type { ObjectInfo } from "./object-backend.js";
import { objectInfoFromProto } from "./object-info-proto.js";
import { tempFileName } from "./temp-files.js";
import { verifyBody } from "./verified-body.js";

/** A StorageService client, as other services hold one. */
export type StorageClient = Client<typeof StorageService>;

/** Options of {@link putObject}. */
export interface PutObjectOptions {
  contentType?: string;
  /** Create-only: ALREADY_EXISTS when the key exists (how catalog commits race). */
  ifNoneMatch?: boolean;
  /** Compare-and-swap against this etag: ABORTED when it changed. */
  ifMatchEtag?: string;
  /** The body's lower-case hex SHA-256, checked by the server before publishing. */
  expectedSha256?: string;
  signal?: AbortSignal;
}

/** Options of the read helpers. */
export interface ReadObjectOptions {
  signal?: AbortSignal;
}

async function* bytesOf(body: Uint8Array): AsyncGenerator<Uint8Array, void, undefined> {
  yield body;
}

/**
 * Writes an object through PutObject, streaming the body in 1 MiB messages
 * (a Uint8Array is sliced, not copied). Returns the object as stored, durable.
 */
export async function putObject(
  client: StorageClient,
  key: string,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  options: PutObjectOptions = {},
): Promise<ObjectInfo> {
  const chunks = body instanceof Uint8Array ? bytesOf(body) : body;
  async function* requests(): AsyncGenerator<PutObjectRequest> {
    yield create(PutObjectRequestSchema, {
      part: {
        case: "header",
        value: {
          key,
          contentType: options.contentType ?? "",
          ifNoneMatch: options.ifNoneMatch ?? false,
          ifMatchEtag: options.ifMatchEtag ?? "",
          expectedSha256: options.expectedSha256 ?? "",
        },
      },
    });
    for await (const chunk of rechunk(chunks, CHUNK_BYTES)) {
      yield create(PutObjectRequestSchema, { part: { case: "chunk", value: chunk } });
    }
  }
  const response = await client.putObject(requests(), { signal: options.signal });
  if (response.object === undefined) {
    throw serviceError(Code.Internal, "MISSING_OBJECT", "PutObject response carries no object");
  }
  return objectInfoFromProto(response.object);
}

/**
 * Opens a whole-object GetObject stream and splits it into metadata and a
 * body that is verified again on this side: the SHA-256 is checked end to
 * end, not only at rest.
 */
async function openVerified(
  client: StorageClient,
  key: string,
  options: ReadObjectOptions,
): Promise<{ info: ObjectInfo; body: AsyncGenerator<Uint8Array, void, undefined> }> {
  const responses = client.getObject({ key }, { signal: options.signal })[Symbol.asyncIterator]();
  const first: IteratorResult<GetObjectResponse> = await responses.next();
  if (first.done || first.value.object === undefined) {
    throw serviceError(Code.Internal, "MISSING_OBJECT", "GetObject stream carries no object");
  }
  const info = objectInfoFromProto(first.value.object);
  async function* raw(): AsyncGenerator<Uint8Array, void, undefined> {
    if (first.done) return;
    if (first.value.chunk.byteLength > 0) yield first.value.chunk;
    for (;;) {
      const next = await responses.next();
      if (next.done) return;
      yield next.value.chunk;
    }
  }
  return { info, body: verifyBody(raw(), info) };
}

/**
 * Reads a whole object into memory, verified. For small objects (manifests,
 * footers); large ones belong on disk via {@link downloadObject}.
 */
export async function readObject(
  client: StorageClient,
  key: string,
  options: ReadObjectOptions = {},
): Promise<Uint8Array> {
  const { info, body } = await openVerified(client, key, options);
  const bytes = new Uint8Array(info.size);
  let offset = 0;
  for await (const chunk of body) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Downloads a whole object to `filePath`: streamed into a temp file beside it,
 * verified, fsynced, then renamed into place, so `filePath` only ever holds a
 * complete, verified copy (what a content-addressed cache needs).
 */
export async function downloadObject(
  client: StorageClient,
  key: string,
  filePath: string,
  options: ReadObjectOptions = {},
): Promise<ObjectInfo> {
  const tempPath = path.join(path.dirname(filePath), tempFileName());
  const handle = await open(tempPath, "wx", 0o644);
  try {
    let info: ObjectInfo;
    try {
      const opened = await openVerified(client, key, options);
      info = opened.info;
      for await (const chunk of opened.body) {
        await writeFully(handle, chunk);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, filePath);
    return info;
  } finally {
    await rm(tempPath, { force: true });
  }
}

/** SHA-256 of a byte array as lower-case hex, for callers computing `expectedSha256`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
