import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { formatFromKey, formatFromMagic, resolveSourceFormat } from "../catalogd/source-format.js";
import { UsageError } from "./cli-errors.js";

/** The `--format` names and what each means to the catalog and to storage. */
export const INGEST_FORMATS = {
  parquet: { format: SourceFormat.PARQUET, contentType: "application/vnd.apache.parquet" },
  csv: { format: SourceFormat.CSV, contentType: "text/csv" },
  json: { format: SourceFormat.JSON, contentType: "application/json" },
  arrow: { format: SourceFormat.ARROW_IPC, contentType: "application/vnd.apache.arrow.stream" },
} as const;

/** A `--format` value. */
export type IngestFormatName = keyof typeof INGEST_FORMATS;

/** What the CLI declares to the catalog and to storage for one ingest. */
export type IngestFormat = (typeof INGEST_FORMATS)[IngestFormatName];

/** Leading bytes to read: more than the longest magic number catalogd looks for. */
export const SOURCE_HEAD_BYTES = 16;

/**
 * Settles the format of `file` before it is uploaded, with catalogd's own rules
 * (magic bytes for Parquet and Arrow, else the extension of the staged `key`,
 * a trailing `.gz` or `.zst` skipped), so a file the catalog would refuse is
 * refused at once instead of after a long upload. The result is then declared
 * to the catalog, which therefore cannot decide otherwise.
 *
 * @param declared the `--format` value, when given.
 * @param head the file's first {@link SOURCE_HEAD_BYTES} bytes (fewer if shorter).
 * @throws UsageError when neither the content nor the name tells the format.
 * @throws ConnectError INVALID_ARGUMENT (reason UNKNOWN_FORMAT) for a Parquet or
 *   Arrow file compressed as a whole, which the catalog cannot read.
 */
export async function chooseIngestFormat(
  declared: IngestFormatName | undefined,
  file: string,
  key: string,
  head: Uint8Array,
): Promise<IngestFormat> {
  const format =
    declared === undefined
      ? (formatFromMagic(head) ?? formatFromKey(key))
      : INGEST_FORMATS[declared].format;
  const chosen = Object.values(INGEST_FORMATS).find((entry) => entry.format === format);
  if (chosen === undefined) {
    throw new UsageError(
      `cannot tell the format of "${file}" from its name or content: ` +
        `give --format ${Object.keys(INGEST_FORMATS).join("|")}`,
    );
  }
  // catalogd's check of the declared format against the content (whole-file
  // compression), named after the local file rather than the staged key.
  await resolveSourceFormat(chosen.format, file, file);
  return chosen;
}
