import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/**
 * What every stored object is known by. Plain data so backends, the RPC
 * layer and client helpers share one shape; sizes are numbers because objects
 * stay far below 2^53 bytes.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Lower-case hex SHA-256 recorded at write time ("" if the object came from elsewhere). */
  sha256: string;
  /** Opaque version tag; changes whenever the object is rewritten. */
  etag: string;
  contentType: string;
  modifyTime: Date;
}

/** Options of {@link ObjectBackend.put}. */
export interface PutOptions {
  /** Media type to record; `application/octet-stream` when absent. */
  contentType?: string;
  /** Create-only: ALREADY_EXISTS when the key exists. */
  ifNoneMatch?: boolean;
  /** Compare-and-swap: ABORTED when the current etag differs, FAILED_PRECONDITION when absent. */
  ifMatchEtag?: string;
  /** Lower-case hex SHA-256 the body must have, else INVALID_ARGUMENT (CHECKSUM_MISMATCH). */
  expectedSha256?: string;
  /** Upload limit; a larger body fails with RESOURCE_EXHAUSTED. */
  maxBytes?: number;
  /** Cancels the write: nothing is published once it fires. */
  signal?: AbortSignal;
}

/** A byte range; `length` 0 or absent means "to the end". */
export interface ByteRange {
  offset: number;
  length?: number;
}

/** An opened object: its metadata and its body (whole reads verify as they stream). */
export interface ObjectRead {
  info: ObjectInfo;
  /**
   * The body. Iterate it to the end or stop early with `break`/`return()`: the
   * backend releases its file or connection in the iterator's `finally`.
   */
  body: AsyncIterable<Uint8Array>;
}

/** Options of {@link ObjectBackend.list}. */
export interface ListOptions {
  /**
   * Which keys the listing holds; all when absent. Keys left out are skipped
   * before any metadata is read, and pages still fill up to the page size.
   */
  include?: (key: string) => boolean;
}

/** One page of a listing. */
export interface ObjectPage {
  objects: ObjectInfo[];
  /**
   * Opaque; "" on the last page. Otherwise the position of the page's last
   * object, so a token never names a key the page did not show (a key left
   * out by `include` above all).
   */
  nextPageToken: string;
}

/**
 * The storage primitive both backends (local directory, S3) implement, so the
 * RPC layer and its tests are written once. Every method validates its key;
 * errors are ConnectErrors with the codes of the StorageService contract.
 */
export interface ObjectBackend {
  /** Writes an object from a byte stream; it becomes visible whole, or not at all. */
  put(key: string, body: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<ObjectInfo>;
  /**
   * Opens an object, optionally a range of it. Whole reads fail with DATA_LOSS
   * before streaming on a size mismatch and after the last chunk on a checksum
   * mismatch; range reads are not checksummed. OUT_OF_RANGE when `offset` is
   * past the end, NOT_FOUND when absent.
   */
  get(key: string, range?: ByteRange): Promise<ObjectRead>;
  /** The metadata of one object; NOT_FOUND when absent. */
  head(key: string): Promise<ObjectInfo>;
  /**
   * Objects whose key starts with `prefix` (and that `options.include` accepts),
   * ascending by UTF-8 bytes of the key. Every page but the last holds
   * `pageSize` objects.
   */
  list(
    prefix: string,
    pageSize: number,
    pageToken: string,
    options?: ListOptions,
  ): Promise<ObjectPage>;
  /** Removes an object; false when there was none. ABORTED when `ifMatchEtag` differs. */
  delete(key: string, options?: { ifMatchEtag?: string }): Promise<boolean>;
  /** Releases connections and handles. */
  close(): Promise<void>;
}

/** The media type recorded when a writer gives none. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/**
 * Rejects contradictory or malformed put options before any byte is read, so
 * both backends refuse the same inputs with the same codes.
 *
 * @throws ConnectError INVALID_ARGUMENT.
 */
export function validatePutOptions(options: PutOptions): void {
  if (options.ifNoneMatch && options.ifMatchEtag !== undefined) {
    throw serviceError(
      Code.InvalidArgument,
      "CONFLICTING_CONDITIONS",
      "if_none_match and if_match_etag cannot be combined",
    );
  }
  if (options.ifMatchEtag !== undefined) validateEtag(options.ifMatchEtag);
  if (options.expectedSha256 !== undefined && !/^[0-9a-f]{64}$/.test(options.expectedSha256)) {
    throw serviceError(
      Code.InvalidArgument,
      "INVALID_SHA256",
      "expected_sha256 must be 64 lower-case hex digits",
    );
  }
  if (
    options.contentType !== undefined &&
    !/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(options.contentType)
  ) {
    throw serviceError(
      Code.InvalidArgument,
      "INVALID_CONTENT_TYPE",
      "content_type must be printable ASCII of at most 255 characters",
    );
  }
}

/**
 * Checks an etag given back by a client: etags are opaque but short and
 * printable, and end up in HTTP headers on the S3 backend.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason INVALID_ETAG.
 */
export function validateEtag(etag: string): string {
  if (!/^[\x21-\x7e]{1,256}$/.test(etag)) {
    throw serviceError(Code.InvalidArgument, "INVALID_ETAG", "etag is not a valid etag");
  }
  return etag;
}
