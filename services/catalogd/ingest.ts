import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { type DataFile, SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";
import { DATA_ROOT, dataPrefix } from "../kit/storage-layout.js";
import { inSpan } from "../kit/telemetry/tracer.js";
import { putObject } from "../storaged/client.js";
import { type CommitDeps, type CommitOutcome, commitChange, findKeyedCommit } from "./commit.js";
import {
  type AddedFile,
  assertAddableKey,
  dataFileOf,
  describeParquetFile,
  downloadSource,
  sha256OfFile,
} from "./data-file.js";
import { hasCode } from "./error-code.js";
import { convertToParquet } from "./format-conversion.js";
import type { DatasetRecord } from "./manifest.js";
import { readerOptionArguments } from "./reader-options.js";
import { resolveSourceFormat } from "./source-format.js";
import { withTempDirectory } from "./temp-directory.js";
import type { AppendTarget } from "./text-append.js";

/** An ingest, its fields already validated. */
export interface IngestRequest {
  readonly dataset: DatasetRecord;
  readonly sourceKey: string;
  readonly format: SourceFormat;
  readonly replaceAll: boolean;
  readonly expectedParentVersion: bigint;
  readonly idempotencyKey: string;
  readonly message: string;
  readonly deleteSource: boolean;
  readonly author: string;
  /** Create `dataset` (a record not yet stored) before committing. */
  readonly createDataset: boolean;
  /** DuckDB reader options for a CSV or JSON source, checked once its format is known. */
  readonly readerOptions: Readonly<Record<string, string>>;
}

/** What an ingest made. */
export interface IngestOutcome extends CommitOutcome {
  /** The data file the ingest added (for a replay, the one the original added). */
  readonly file: DataFile | undefined;
  /** True when this ingest created the dataset. */
  readonly datasetCreated: boolean;
}

/**
 * Turns an uploaded object into the next snapshot: a Parquet object is registered as
 * is; anything else is converted to Parquet, written create-only under the dataset's
 * data prefix, then committed. A converted file whose commit fails (a schema conflict,
 * a lost race with an expected parent) is deleted again, so the dataset and its folder
 * are left as they were. A dataset to create is created only once the upload is
 * converted, so an unreadable upload never leaves an empty dataset behind.
 */
export function ingestObject(deps: CommitDeps, request: IngestRequest): Promise<IngestOutcome> {
  return inSpan(
    "catalog.ingest",
    { "lakehouse.dataset": request.dataset.name, "lakehouse.storage.key": request.sourceKey },
    async (span) => {
      const outcome = await ingest(deps, request);
      span.setAttribute("lakehouse.snapshot.version", Number(outcome.stored.snapshot.version));
      return outcome;
    },
  );
}

async function ingest(deps: CommitDeps, request: IngestRequest): Promise<IngestOutcome> {
  const { dataset, sourceKey } = request;
  let keySearchedUpTo = 0n;
  if (request.idempotencyKey !== "" && !request.createDataset) {
    const search = await findKeyedCommit(deps.store, dataset, request.idempotencyKey);
    if (search.found !== undefined) {
      return { ...replayOutcome({ stored: search.found, replayed: true }), datasetCreated: false };
    }
    keySearchedUpTo = search.searchedUpTo;
  }
  // catalogd reads and deletes the source with its own rights: never one in the catalog's
  // or another dataset's area, whatever its format.
  assertAddableKey(dataset.name, sourceKey);
  const db = await deps.duckdb();
  const prepared = await withTempDirectory(deps.workDirectory, async (directory) => {
    const sourcePath = join(directory, "source");
    const object = await downloadSource(deps.storage, sourceKey, sourcePath, "SOURCE_NOT_FOUND");
    // DuckDB would read an empty text file as one invented column and no rows.
    if (object.size === 0n) {
      throw serviceError(Code.InvalidArgument, "EMPTY_SOURCE", `"${sourceKey}" is empty`, {
        key: sourceKey,
      });
    }
    const format = await resolveSourceFormat(request.format, sourcePath, sourceKey);
    const readerArguments = readerOptionArguments(format, request.readerOptions);
    if (format === SourceFormat.PARQUET) {
      return {
        file: await describeParquetFile(db, sourceKey, sourcePath, object),
        converted: false,
      };
    }
    // A file to convert is an upload, never a data file: converting one with
    // delete_source would remove a file that snapshots reference.
    if (sourceKey.startsWith(DATA_ROOT)) {
      throw serviceError(
        Code.InvalidArgument,
        "RESERVED_KEY",
        `"${sourceKey}" is a data file, not an upload to convert`,
        { key: sourceKey },
      );
    }
    const targetPath = join(directory, "converted.parquet");
    // An append is converted to the dataset's columns; a replacement keeps its own.
    const appendTo = request.replaceAll ? undefined : await appendTarget(deps, dataset.name);
    await inSpan("catalog.convert", { "lakehouse.source.format": SourceFormat[format] }, () =>
      convertToParquet(db, format, sourcePath, targetPath, { appendTo, readerArguments }),
    );
    const key = `${dataPrefix(dataset.name)}${randomUUID()}.parquet`;
    const sha256 = await sha256OfFile(targetPath);
    const described = await describeParquetFile(db, key, targetPath, { size: 0n, sha256 });
    const info = await putObject(deps.storage, key, createReadStream(targetPath), {
      ifNoneMatch: true,
      expectedSha256: sha256,
      contentType: "application/vnd.apache.parquet",
    });
    const file: AddedFile = { ...described, size: BigInt(info.size), source: sourceKey };
    return { file, converted: true };
  });

  let outcome: CommitOutcome;
  let datasetCreated = false;
  try {
    let target = dataset;
    if (request.createDataset) {
      // Created only now, so an unreadable upload never leaves an empty dataset behind.
      datasetCreated = await deps.store.createDataset(dataset).then(
        () => true,
        (error: unknown) => {
          if (hasCode(error, Code.AlreadyExists)) return false;
          throw error;
        },
      );
      if (!datasetCreated) target = await deps.store.getDataset(dataset.name);
    }
    outcome = await inSpan("catalog.commit", { "lakehouse.dataset": target.name }, () =>
      commitChange(deps, {
        dataset: target,
        keySearchedUpTo,
        added: [prepared.file],
        removeKeys: [],
        replaceAll: request.replaceAll,
        expectedParentVersion: request.expectedParentVersion,
        idempotencyKey: request.idempotencyKey,
        message: request.message,
        author: request.author,
      }),
    );
  } catch (error) {
    if (prepared.converted) await deleteQuietly(deps, prepared.file.key);
    throw error;
  }
  if (outcome.replayed) {
    if (prepared.converted) await deleteQuietly(deps, prepared.file.key);
    return { ...replayOutcome(outcome), datasetCreated };
  }
  if (request.deleteSource && prepared.converted) {
    await deps.storage.deleteObject({ key: sourceKey });
  }
  return { ...outcome, file: dataFileOf(prepared.file), datasetCreated };
}

/** A replay answers with the file the original ingest added. */
function replayOutcome(outcome: CommitOutcome): Omit<IngestOutcome, "datasetCreated"> {
  const key = outcome.stored.addedKeys[0];
  return { ...outcome, file: outcome.stored.snapshot.files.find((f) => f.key === key) };
}

/** Removes a file this ingest wrote; failing to is a leak, never a reason to fail. */
async function deleteQuietly(deps: CommitDeps, key: string): Promise<void> {
  await deps.storage.deleteObject({ key }).catch(() => undefined);
}

/** The dataset and the top-level columns of its latest snapshot; none when it has no snapshot yet. */
async function appendTarget(deps: CommitDeps, name: string): Promise<AppendTarget | undefined> {
  const { record, latest } = await deps.store.getDatasetWithLatest(name).catch((error: unknown) => {
    if (hasCode(error, Code.NotFound)) return { record: undefined, latest: 0n };
    throw error;
  });
  if (record === undefined || latest === 0n) return undefined;
  const { snapshot } = await deps.store.readSnapshot(record, latest);
  const columns = snapshot.schema?.fields.map(({ name: column, type }) => ({ name: column, type }));
  return columns === undefined || columns.length === 0 ? undefined : { dataset: name, columns };
}
