import { open } from "node:fs/promises";
import { Code } from "@connectrpc/connect";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";

/** A format catalogd can ingest; never SOURCE_FORMAT_UNSPECIFIED. */
export type ConcreteSourceFormat = Exclude<SourceFormat, SourceFormat.UNSPECIFIED>;

/**
 * How a text source is compressed as a whole file, in DuckDB's `compression` option
 * spelling (read_json refuses `none`); DuckDB decompresses these while reading CSV and JSON.
 */
export type SourceCompression = "uncompressed" | "gzip" | "zstd";

const EXTENSIONS: Record<string, ConcreteSourceFormat> = {
  parquet: SourceFormat.PARQUET,
  csv: SourceFormat.CSV,
  // DuckDB's sniffer detects the delimiter, so tab-separated files read as CSV.
  tsv: SourceFormat.CSV,
  tab: SourceFormat.CSV,
  json: SourceFormat.JSON,
  ndjson: SourceFormat.JSON,
  jsonl: SourceFormat.JSON,
  arrow: SourceFormat.ARROW_IPC,
  arrows: SourceFormat.ARROW_IPC,
  feather: SourceFormat.ARROW_IPC,
};

/** Extensions of whole-file compression, allowed after a format's extension. */
const COMPRESSED_EXTENSIONS = new Set(["gz", "zst"]);

/** Bytes enough for every magic number recognised here. */
const HEAD_LENGTH = 8;

/** Recognises a format from the first bytes of a file, or returns undefined. */
export function formatFromMagic(head: Uint8Array): ConcreteSourceFormat | undefined {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.subarray(0, 4).toString("latin1") === "PAR1") return SourceFormat.PARQUET;
  if (bytes.subarray(0, 6).toString("latin1") === "ARROW1") return SourceFormat.ARROW_IPC;
  // An Arrow IPC stream opens with the continuation marker before its schema message.
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0xffffffff) return SourceFormat.ARROW_IPC;
  return undefined;
}

/**
 * Recognises whole-file compression from the first bytes: the content, not the name,
 * decides, since the downloaded copy's name carries no extension.
 */
export function compressionFromMagic(head: Uint8Array): SourceCompression {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return "gzip";
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "uncompressed";
}

/**
 * Recognises a format from the key's extension, or returns undefined; a trailing
 * `.gz` or `.zst` is skipped, so `dim.csv.gz` is CSV.
 */
export function formatFromKey(key: string): ConcreteSourceFormat | undefined {
  let name = key.slice(key.lastIndexOf("/") + 1).toLowerCase();
  const last = name.lastIndexOf(".");
  if (last > 0 && COMPRESSED_EXTENSIONS.has(name.slice(last + 1))) name = name.slice(0, last);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return undefined;
  return EXTENSIONS[name.slice(dot + 1)];
}

/** The compression of a local source file, from its first bytes. */
export async function sourceCompression(path: string): Promise<SourceCompression> {
  return compressionFromMagic(await readHead(path));
}

/**
 * Decides the format of a downloaded object: the declared one when given; else magic
 * bytes (which cannot lie about binary formats), then the key's extension (the only
 * hint for text formats).
 *
 * @throws ConnectError INVALID_ARGUMENT, reason UNKNOWN_FORMAT, when neither tells, or
 *   when a Parquet or Arrow file is compressed as a whole (neither reader can read it).
 */
export async function resolveSourceFormat(
  declared: SourceFormat,
  path: string,
  key: string,
): Promise<ConcreteSourceFormat> {
  const head = await readHead(path);
  const format =
    declared !== SourceFormat.UNSPECIFIED
      ? declared
      : (formatFromMagic(head) ?? formatFromKey(key));
  if (format === undefined) {
    throw serviceError(
      Code.InvalidArgument,
      "UNKNOWN_FORMAT",
      `cannot tell the format of "${key}": give it explicitly or use a known extension`,
      { key },
    );
  }
  const compression = compressionFromMagic(head);
  if (
    compression !== "uncompressed" &&
    (format === SourceFormat.PARQUET || format === SourceFormat.ARROW_IPC)
  ) {
    throw serviceError(
      Code.InvalidArgument,
      "UNKNOWN_FORMAT",
      `"${key}" is ${SourceFormat[format]} compressed as a whole file (${compression}), ` +
        "which cannot be read: upload it uncompressed (only CSV and JSON may be gzip or zstd files)",
      { key },
    );
  }
  return format;
}

/** The first bytes of a file (fewer when the file is shorter). */
async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(HEAD_LENGTH);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
