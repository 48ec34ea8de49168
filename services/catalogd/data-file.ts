import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { type DataFile, DataFileSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";
import { CATALOG_PREFIX, DATA_ROOT, dataPrefix } from "../kit/storage-layout.js";
import { downloadObject, type StorageClient } from "../storaged/client.js";
import type { CatalogDuckDB } from "./catalog-duckdb.js";
import { hasCode } from "./error-code.js";
import { type ParquetFooter, readParquetFooter } from "./parquet-footer.js";

/** A file to add to a snapshot, its footer already read. */
export interface AddedFile {
  readonly key: string;
  /** The object the file was converted from, which errors name; the file itself when absent. */
  readonly source?: string;
  readonly size: bigint;
  readonly sha256: string;
  readonly footer: ParquetFooter;
}

/** Describes a data file for a snapshot from what was learnt when it was added. */
export function dataFileOf(file: AddedFile): DataFile {
  return create(DataFileSchema, {
    key: file.key,
    size: file.size,
    sha256: file.sha256,
    rowCount: file.footer.rowCount,
    columnStats: file.footer.columnStats,
  });
}

/**
 * Refuses keys a dataset may not reference: the catalog's own objects, and data files
 * that ingest wrote for another dataset (those belong to that dataset alone, which is
 * what lets expiry and deletion remove them without searching every other dataset).
 *
 * @throws ConnectError INVALID_ARGUMENT, reason RESERVED_KEY.
 */
export function assertAddableKey(dataset: string, key: string): void {
  const foreignData = key.startsWith(DATA_ROOT) && !key.startsWith(dataPrefix(dataset));
  if (key.startsWith(CATALOG_PREFIX) || foreignData) {
    throw serviceError(
      Code.InvalidArgument,
      "RESERVED_KEY",
      `"${key}" is reserved for the catalog or another dataset`,
      { key, dataset },
    );
  }
}

/**
 * Downloads an object to a local file (verified end to end by the storage client).
 *
 * @throws ConnectError NOT_FOUND with `notFoundReason` when the object does not exist.
 */
export async function downloadSource(
  storage: StorageClient,
  key: string,
  path: string,
  notFoundReason: string,
): Promise<{ size: bigint; sha256: string }> {
  try {
    const info = await downloadObject(storage, key, path);
    const sha256 = info.sha256 !== "" ? info.sha256 : await sha256OfFile(path);
    return { size: BigInt(info.size), sha256 };
  } catch (error) {
    if (hasCode(error, Code.NotFound)) {
      throw serviceError(Code.NotFound, notFoundReason, `object "${key}" does not exist`, { key });
    }
    throw error;
  }
}

/** Reads a local copy of `key` as a data file: its footer, size and checksum. */
export async function describeParquetFile(
  db: CatalogDuckDB,
  key: string,
  path: string,
  object: { size: bigint; sha256: string },
): Promise<AddedFile> {
  const footer = await readParquetFooter(db, path);
  return { key, size: object.size, sha256: object.sha256, footer };
}

/** Lower-case hex SHA-256 of a local file, streamed. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
