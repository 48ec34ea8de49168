import { createHash } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/** What an index's snapshot message records, so a search knows what the vectors mean. */
export interface SearchIndexInfo {
  readonly source: string;
  readonly sourceVersion: number;
  readonly column: string;
  readonly provider: string;
  readonly model: string;
  readonly dimensions: number;
}

const MESSAGE_PREFIX = "lakehouse search index ";

/**
 * The derived dataset holding the vectors of one column embedded by one model:
 * `<dataset>__<column>__vec_<hash>`, the hash over the exact column, provider
 * and model (columns may hold characters dataset names cannot). Rebuilding
 * with the same model writes a new snapshot of the same dataset.
 */
export function searchIndexName(
  dataset: string,
  column: string,
  provider: string,
  model: string,
): string {
  const hash = createHash("sha256")
    .update(`${column}\0${provider}\0${model}`)
    .digest("hex")
    .slice(0, 12);
  return `${searchIndexPrefix(dataset, column)}${hash}`;
}

/** The common start of every index name of a dataset column. */
export function searchIndexPrefix(dataset: string, column: string): string {
  const safeColumn = column.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 32);
  return `${dataset.slice(0, 64)}__${safeColumn}__vec_`;
}

/** The snapshot message of an index snapshot. */
export function indexMessage(info: SearchIndexInfo): string {
  return `${MESSAGE_PREFIX}${JSON.stringify(info)}`;
}

/**
 * Reads an index snapshot's message.
 *
 * @throws FAILED_PRECONDITION (NOT_A_SEARCH_INDEX) when it is not one.
 */
export function parseIndexMessage(dataset: string, message: string): SearchIndexInfo {
  if (message.startsWith(MESSAGE_PREFIX)) {
    try {
      const info = JSON.parse(message.slice(MESSAGE_PREFIX.length)) as SearchIndexInfo;
      if (typeof info.source === "string" && Number.isInteger(info.dimensions)) return info;
    } catch {
      // Falls through to the refusal.
    }
  }
  throw serviceError(
    Code.FailedPrecondition,
    "NOT_A_SEARCH_INDEX",
    `dataset ${dataset} is not a search index built by aibridge`,
    { dataset },
  );
}
