import { create } from "@bufbuild/protobuf";
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type GetObjectRequest,
  type GetObjectResponse,
  GetObjectResponseSchema,
  type PutObjectRequest,
  type StorageService,
} from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { serviceError } from "../kit/errors.js";
import { CHUNK_BYTES, rechunk } from "./byte-chunks.js";
import { type ObjectBackend, validateEtag } from "./object-backend.js";
import { objectInfoToProto } from "./object-info-proto.js";
import { validateKey, validatePrefix } from "./object-key.js";
import {
  checkPublicPrefix,
  checkPublicRead,
  checkPublicWrite,
  mayRead,
  publicCaller,
} from "./public-access.js";

/** Options of {@link createStorageService}. */
export interface StorageServiceOptions {
  /** The largest body PutObject accepts; unlimited when absent. */
  maxUploadBytes?: number;
}

/** ListObjects' page size when the request gives 0, and the largest it accepts. */
export const MAX_PAGE_SIZE = 1000;

function invalidArgument(reason: string, message: string) {
  return serviceError(Code.InvalidArgument, reason, message);
}

/** An int64 request field as a safe non-negative number. */
function byteCount(value: bigint, field: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalidArgument("INVALID_RANGE", `${field} must be between 0 and 2^53-1`);
  }
  return Number(value);
}

/** The body messages after the header; a second header is refused. */
async function* bodyChunks(
  requests: AsyncIterator<PutObjectRequest>,
): AsyncGenerator<Uint8Array, void, undefined> {
  for (;;) {
    const next = await requests.next();
    if (next.done) return;
    const part = next.value.part;
    if (part.case === "header") {
      throw invalidArgument("DUPLICATE_HEADER", "PutObject stream holds a second header");
    }
    if (part.case === "chunk" && part.value.byteLength > 0) yield part.value;
  }
}

/**
 * Implements lakehouse.storage.v1.StorageService over any {@link ObjectBackend}:
 * validates every request, streams bodies through without holding them whole
 * (uploads straight into the backend, downloads in chunks of at most 1 MiB),
 * and stops a download when the client goes away. Keys are validated here and
 * again by the backend, which is the boundary to the disk or bucket.
 *
 * ListObjects: `page_size` 0 means 1000; above 1000 is INVALID_ARGUMENT rather
 * than silently clamped, so a client never mistakes a short page for the end.
 */
export function createStorageService(
  backend: ObjectBackend,
  options: StorageServiceOptions = {},
): ServiceImpl<typeof StorageService> {
  return {
    async putObject(requests: AsyncIterable<PutObjectRequest>, context: HandlerContext) {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done || first.value.part.case !== "header") {
        throw invalidArgument("MISSING_HEADER", "the first PutObject message must be the header");
      }
      const header = first.value.part.value;
      validateKey(header.key);
      if (publicCaller(context) !== undefined) checkPublicWrite(header.key);
      const info = await backend.put(header.key, bodyChunks(iterator), {
        contentType: header.contentType || undefined,
        ifNoneMatch: header.ifNoneMatch,
        ifMatchEtag: header.ifMatchEtag === "" ? undefined : header.ifMatchEtag,
        expectedSha256: header.expectedSha256 === "" ? undefined : header.expectedSha256,
        maxBytes: options.maxUploadBytes,
        signal: context.signal,
      });
      return { object: objectInfoToProto(info) };
    },

    async *getObject(
      request: GetObjectRequest,
      context: HandlerContext,
    ): AsyncGenerator<GetObjectResponse> {
      validateKey(request.key);
      const caller = publicCaller(context);
      if (caller !== undefined) checkPublicRead(caller, request.key);
      const offset = byteCount(request.offset, "offset");
      const length = byteCount(request.length, "length");
      const read = await backend.get(request.key, { offset, length });
      let first = true;
      // Leaving this loop early (cancel, error) returns the backend's iterator,
      // which closes its file or connection.
      for await (const chunk of rechunk(read.body, CHUNK_BYTES)) {
        context.signal.throwIfAborted();
        yield create(GetObjectResponseSchema, {
          object: first ? objectInfoToProto(read.info) : undefined,
          chunk,
        });
        first = false;
      }
      if (first) yield create(GetObjectResponseSchema, { object: objectInfoToProto(read.info) });
    },

    async headObject(request, context) {
      validateKey(request.key);
      const caller = publicCaller(context);
      if (caller !== undefined) checkPublicRead(caller, request.key);
      return { object: objectInfoToProto(await backend.head(request.key)) };
    },

    async listObjects(request, context) {
      validatePrefix(request.prefix);
      const caller = publicCaller(context);
      if (caller !== undefined) checkPublicPrefix(caller, request.prefix);
      if (request.pageSize < 0 || request.pageSize > MAX_PAGE_SIZE) {
        throw invalidArgument(
          "INVALID_PAGE_SIZE",
          `page_size must be between 0 and ${MAX_PAGE_SIZE}`,
        );
      }
      // A public caller's listing leaves out what it may not read: the backend
      // skips those keys while it fills the page, and the page's token names
      // only a key the caller was shown ("grants reveal no names").
      const page = await backend.list(
        request.prefix,
        request.pageSize === 0 ? MAX_PAGE_SIZE : request.pageSize,
        request.pageToken,
        caller === undefined ? {} : { include: (key) => mayRead(caller, key) },
      );
      return {
        objects: page.objects.map(objectInfoToProto),
        nextPageToken: page.nextPageToken,
      };
    },

    async deleteObject(request, context) {
      validateKey(request.key);
      if (publicCaller(context) !== undefined) checkPublicWrite(request.key);
      const ifMatchEtag =
        request.ifMatchEtag === "" ? undefined : validateEtag(request.ifMatchEtag);
      return { deleted: await backend.delete(request.key, { ifMatchEtag }) };
    },
  };
}
