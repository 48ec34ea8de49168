import { createHash } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/** What an index's snapshot message records, so a search knows what the vectors mean. */
export interface SearchIndexInfo {
  readonly source: string;
  readonly sourceVersion: number;
  /**
   * When that snapshot was committed (`seconds.nanos`): a dataset dropped and
   * made again has a snapshot of the same version, committed at another time.
   * Absent in indexes built before it was recorded.
   */
  readonly sourceCommitted?: string;
  readonly column: string;
  readonly provider: string;
  readonly model: string;
  readonly dimensions: number;
}

const MESSAGE_PREFIX = "lakehouse search index ";

/** Characters of the source dataset's name kept at the start of an index name. */
const KEPT_DATASET_CHARS = 64;

/**
 * The derived dataset holding the vectors of one column embedded by one model:
 * `<dataset>__<column>__vec_<hash>`, the hash over the exact dataset, column,
 * provider and model. The readable part is cut short so the name stays within
 * the 128 characters of a dataset name (and columns may hold characters
 * dataset names cannot), so only the hash keeps two datasets whose names
 * share their first 64 characters apart. Rebuilding with the same model
 * writes a new snapshot of the same dataset.
 */
export function searchIndexName(
  dataset: string,
  column: string,
  provider: string,
  model: string,
): string {
  const hash = createHash("sha256")
    .update(`${dataset}\0${column}\0${provider}\0${model}`)
    .digest("hex")
    .slice(0, 12);
  return `${searchIndexPrefix(dataset, column)}${hash}`;
}

/**
 * The common start of every index name of a dataset column. Other datasets
 * sharing the first 64 characters share it too: what an index was built from
 * is read from its snapshot message ({@link readIndexInfo}), never from its name.
 */
export function searchIndexPrefix(dataset: string, column: string): string {
  const safeColumn = column.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 32);
  return `${searchIndexDatasetPrefix(dataset)}${safeColumn}__vec_`;
}

/** The common start of every index name of a dataset, whatever the column. */
export function searchIndexDatasetPrefix(dataset: string): string {
  return `${dataset.slice(0, KEPT_DATASET_CHARS)}__`;
}

/** The snapshot message of an index snapshot. */
export function indexMessage(info: SearchIndexInfo): string {
  return `${MESSAGE_PREFIX}${JSON.stringify(info)}`;
}

/** What an index snapshot's message records, or undefined when the snapshot is not an index's. */
export function readIndexInfo(message: string): SearchIndexInfo | undefined {
  if (!message.startsWith(MESSAGE_PREFIX)) return undefined;
  try {
    const info = JSON.parse(message.slice(MESSAGE_PREFIX.length)) as SearchIndexInfo;
    if (typeof info.source === "string" && Number.isInteger(info.dimensions)) return info;
  } catch {
    // Not an index's message after all.
  }
  return undefined;
}

/**
 * Reads an index snapshot's message.
 *
 * @throws FAILED_PRECONDITION (NOT_A_SEARCH_INDEX) when it is not one.
 */
export function parseIndexMessage(dataset: string, message: string): SearchIndexInfo {
  const info = readIndexInfo(message);
  if (info !== undefined) return info;
  throw serviceError(
    Code.FailedPrecondition,
    "NOT_A_SEARCH_INDEX",
    `dataset ${dataset} is not a search index built by aibridge`,
    { dataset },
  );
}

/** How an index records its source snapshot's commit time. */
export function commitStamp(time: { seconds: bigint; nanos: number } | undefined): string {
  return `${time?.seconds ?? 0n}.${time?.nanos ?? 0}`;
}
