import { open } from "node:fs/promises";
import { Code } from "@connectrpc/connect";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";

/** A format catalogd can ingest; never SOURCE_FORMAT_UNSPECIFIED. */
export type ConcreteSourceFormat = Exclude<SourceFormat, SourceFormat.UNSPECIFIED>;

const EXTENSIONS: Record<string, ConcreteSourceFormat> = {
  parquet: SourceFormat.PARQUET,
  csv: SourceFormat.CSV,
  json: SourceFormat.JSON,
  ndjson: SourceFormat.JSON,
  jsonl: SourceFormat.JSON,
  arrow: SourceFormat.ARROW_IPC,
  arrows: SourceFormat.ARROW_IPC,
  feather: SourceFormat.ARROW_IPC,
};

/** Recognises a format from the first bytes of a file, or returns undefined. */
export function formatFromMagic(head: Uint8Array): ConcreteSourceFormat | undefined {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.subarray(0, 4).toString("latin1") === "PAR1") return SourceFormat.PARQUET;
  if (bytes.subarray(0, 6).toString("latin1") === "ARROW1") return SourceFormat.ARROW_IPC;
  // An Arrow IPC stream opens with the continuation marker before its schema message.
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0xffffffff) return SourceFormat.ARROW_IPC;
  return undefined;
}

/** Recognises a format from the key's extension, or returns undefined. */
export function formatFromKey(key: string): ConcreteSourceFormat | undefined {
  const name = key.slice(key.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return undefined;
  return EXTENSIONS[name.slice(dot + 1).toLowerCase()];
}

/**
 * Decides the format of a downloaded object: the declared one when given; else magic
 * bytes (which cannot lie about binary formats), then the key's extension (the only
 * hint for text formats).
 *
 * @throws ConnectError INVALID_ARGUMENT, reason UNKNOWN_FORMAT, when neither tells.
 */
export async function resolveSourceFormat(
  declared: SourceFormat,
  path: string,
  key: string,
): Promise<ConcreteSourceFormat> {
  if (declared !== SourceFormat.UNSPECIFIED) return declared;
  const file = await open(path, "r");
  const head = Buffer.alloc(8);
  try {
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const format = formatFromMagic(head.subarray(0, bytesRead)) ?? formatFromKey(key);
    if (format !== undefined) return format;
  } finally {
    await file.close();
  }
  throw serviceError(
    Code.InvalidArgument,
    "UNKNOWN_FORMAT",
    `cannot tell the format of "${key}": give it explicitly or use a known extension`,
    { key },
  );
}
