import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { SchemaSchema, SnapshotSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";
import type { StorageClient } from "../storaged/client.js";
import type { CatalogDuckDB } from "./catalog-duckdb.js";
import { mergeColumnStats } from "./column-stats.js";
import {
  type AddedFile,
  assertAddableKey,
  dataFileOf,
  describeParquetFile,
  downloadSource,
} from "./data-file.js";
import { hasCode } from "./error-code.js";
import type { DatasetRecord, StoredSnapshot } from "./manifest.js";
import type { ManifestStore } from "./manifest-store.js";
import { schemaFingerprint } from "./schema-fingerprint.js";
import { columnDifference } from "./snapshot-diff.js";
import { withTempDirectory } from "./temp-directory.js";

/** What commits need from their surroundings. */
export interface CommitDeps {
  readonly storage: StorageClient;
  readonly store: ManifestStore;
  readonly duckdb: () => Promise<CatalogDuckDB>;
  readonly workDirectory: string;
  readonly now: () => Date;
  /** Attempts of a commit without `expected_parent_version` before it gives up. */
  readonly maxCommitAttempts: number;
}

/** The change a commit applies on top of its parent. */
export interface CommitChange {
  readonly dataset: DatasetRecord;
  readonly added: readonly AddedFile[];
  readonly removeKeys: readonly string[];
  readonly replaceAll: boolean;
  /** Above 0: commit only on top of exactly this version. */
  readonly expectedParentVersion: bigint;
  readonly idempotencyKey: string;
  /** The newest version {@link findKeyedCommit} already searched for the key (0: none). */
  readonly keySearchedUpTo: bigint;
  readonly message: string;
  readonly author: string;
}

/** The outcome of a commit. */
export interface CommitOutcome {
  readonly stored: StoredSnapshot;
  /** True when the idempotency key matched an earlier commit and nothing was committed. */
  readonly replayed: boolean;
}

/**
 * Downloads each object to a temp file and reads its Parquet footer.
 *
 * @throws NOT_FOUND (FILE_NOT_FOUND) for a missing object; INVALID_ARGUMENT (NOT_PARQUET,
 *   RESERVED_KEY, DUPLICATE_FILE).
 */
export async function prepareAddedFiles(
  deps: CommitDeps,
  dataset: string,
  keys: readonly string[],
): Promise<AddedFile[]> {
  if (new Set(keys).size !== keys.length) {
    throw serviceError(Code.InvalidArgument, "DUPLICATE_FILE", "add_files names a file twice");
  }
  for (const key of keys) assertAddableKey(dataset, key);
  const db = await deps.duckdb();
  return withTempDirectory(deps.workDirectory, async (directory) => {
    const added: AddedFile[] = [];
    for (const [index, key] of keys.entries()) {
      const path = join(directory, `${index}.parquet`);
      const object = await downloadSource(deps.storage, key, path, "FILE_NOT_FOUND");
      added.push(await describeParquetFile(db, key, path, object));
    }
    return added;
  });
}

/** The result of looking for an earlier commit with an idempotency key. */
export interface KeyedCommitSearch {
  /** The earlier commit, when found. */
  readonly found: StoredSnapshot | undefined;
  /** The newest version searched; a commit must still search the versions after it. */
  readonly searchedUpTo: bigint;
}

/**
 * Looks for an earlier commit with this idempotency key. A keyed commit marks each
 * version it tries before writing that manifest, so whatever happened to the process,
 * the versions it may have committed are all marked: the one whose manifest carries the
 * key is the earlier commit. Callers run this before any costly preparation and pass
 * `searchedUpTo` on to {@link commitChange}, which checks the versions after it (an
 * earlier attempt still running may land there).
 */
export async function findKeyedCommit(
  store: ManifestStore,
  dataset: DatasetRecord,
  key: string,
): Promise<KeyedCommitSearch> {
  const latest = await store.latestVersion(dataset);
  for (const version of await store.readIdempotencyMarkers(dataset, key)) {
    if (version > latest) continue;
    const stored = await store.readSnapshot(dataset, version).catch((error: unknown) => {
      // Expired, or the attempt lost that version: nothing of this key is there.
      if (hasCode(error, Code.NotFound)) return undefined;
      throw error;
    });
    if (stored?.idempotencyKey === key) return { found: stored, searchedUpTo: latest };
  }
  return { found: undefined, searchedUpTo: latest };
}

/** Searches versions (after, upTo] for a manifest carrying `key`, newest first. */
async function searchManifests(
  store: ManifestStore,
  dataset: DatasetRecord,
  key: string,
  after: bigint,
  upTo: bigint,
): Promise<StoredSnapshot | undefined> {
  for (let version = upTo; version > after; version--) {
    const stored = await store.readSnapshot(dataset, version).catch((error: unknown) => {
      // Expired meanwhile: older versions are gone too.
      if (hasCode(error, Code.NotFound)) return undefined;
      throw error;
    });
    if (stored === undefined) return undefined;
    if (stored.idempotencyKey === key) return stored;
  }
  return undefined;
}

/**
 * Commits a change as the next snapshot by a create-only write of its manifest. Without
 * an expected parent, a lost race re-reads the latest snapshot and re-applies the
 * change (bounded, jittered retries), so concurrent appends are never lost; with one,
 * a lost race is ABORTED (CONCURRENT_COMMIT). Every manifest committed after
 * `change.keySearchedUpTo` is checked for the idempotency key before this commit writes,
 * so a repeat that races its original still returns the original.
 *
 * @throws INVALID_ARGUMENT (FILE_NOT_IN_SNAPSHOT, DUPLICATE_FILE, NOTHING_TO_COMMIT);
 *   FAILED_PRECONDITION (SCHEMA_CONFLICT); ABORTED (CONCURRENT_COMMIT, TOO_MUCH_CONTENTION);
 *   NOT_FOUND (DATASET_NOT_FOUND) when the dataset was deleted before the commit landed.
 */
export async function commitChange(deps: CommitDeps, change: CommitChange): Promise<CommitOutcome> {
  const { store } = deps;
  if (change.added.length === 0 && change.removeKeys.length === 0 && !change.replaceAll) {
    throw nothingToCommit();
  }
  assertOneSchema(change);
  /** Versions this commit marked but lost to others. */
  const lost: bigint[] = [];
  try {
    return await commitWithRetries(deps, change, lost);
  } catch (error) {
    await forgetLostVersions(store, change, lost);
    throw error;
  }
}

/** The attempts of {@link commitChange}; `lost` collects the keyed versions lost to others. */
async function commitWithRetries(
  deps: CommitDeps,
  change: CommitChange,
  lost: bigint[],
): Promise<CommitOutcome> {
  const { store } = deps;
  const { dataset } = change;
  let searched = change.keySearchedUpTo;
  let latest = await store.latestVersion(dataset);
  for (let attempt = 1; ; attempt++) {
    if (change.idempotencyKey !== "" && latest > searched) {
      const earlier = await searchManifests(
        store,
        dataset,
        change.idempotencyKey,
        searched,
        latest,
      );
      if (earlier !== undefined) return { stored: earlier, replayed: true };
      searched = latest;
    }
    const expected = change.expectedParentVersion;
    if (expected > 0n && latest !== expected) throw concurrentCommit(dataset, expected, latest);
    const parent = latest > 0n ? await store.readSnapshot(dataset, latest) : undefined;
    const stored = await buildSnapshot(deps, change, parent);
    const version = stored.snapshot.version;
    if (change.idempotencyKey !== "") {
      // Before the manifest: a retry after a crash anywhere past here finds this version.
      await store.writeIdempotencyMarker(dataset, change.idempotencyKey, version);
    }
    if (await store.writeSnapshot(dataset, stored)) {
      await assertStillExists(store, dataset, version, lost);
      await afterCommit(store, change, version, lost);
      return { stored, replayed: false };
    }
    if (change.idempotencyKey !== "") lost.push(version);
    if (expected === 0n && attempt >= deps.maxCommitAttempts) {
      throw serviceError(
        Code.Aborted,
        "TOO_MUCH_CONTENTION",
        `dataset "${dataset.name}": the commit lost ${attempt} races in a row; retry it`,
        { dataset: dataset.name },
      );
    }
    if (expected === 0n) await sleep(Math.random() * Math.min(1_000, 5 * 2 ** attempt));
    latest = await store.latestVersion(dataset);
  }
}

/**
 * Makes sure the dataset a manifest was just written for still exists, as the same
 * dataset: a drop (or a drop and a new dataset of the same name) that came first has
 * already removed the record, so the manifest would be acknowledged and never seen. It
 * is removed again, with its marker, and the commit fails; a drop that comes later
 * finds the manifest and removes it with the rest.
 *
 * @throws NOT_FOUND (DATASET_NOT_FOUND).
 */
async function assertStillExists(
  store: ManifestStore,
  dataset: DatasetRecord,
  version: bigint,
  lost: bigint[],
): Promise<void> {
  const current = await store.getDataset(dataset.name).catch((error: unknown) => {
    if (hasCode(error, Code.NotFound)) return undefined;
    throw error;
  });
  if (current?.id === dataset.id) return;
  await store.deleteSnapshot(dataset, version).catch(() => undefined);
  lost.push(version);
  throw serviceError(
    Code.NotFound,
    "DATASET_NOT_FOUND",
    `dataset "${dataset.name}" was deleted while this commit ran; nothing was committed`,
    { dataset: dataset.name },
  );
}

/**
 * Writes the hint and removes the markers of versions this commit lost; both only
 * spare later calls work, so a failure loses nothing (a stale marker names a manifest
 * without the key and is passed over).
 */
async function afterCommit(
  store: ManifestStore,
  change: CommitChange,
  version: bigint,
  lost: readonly bigint[],
): Promise<void> {
  await Promise.allSettled([
    store.writeHint(change.dataset, version),
    forgetLostVersions(store, change, lost),
  ]);
}

/**
 * Removes the markers of versions a keyed commit lost to others, whether it then
 * succeeded or gave up: they name other commits' manifests. Best effort.
 */
async function forgetLostVersions(
  store: ManifestStore,
  change: CommitChange,
  lost: readonly bigint[],
): Promise<void> {
  await Promise.allSettled(
    lost.map((tried) =>
      store.deleteIdempotencyMarker(change.dataset, change.idempotencyKey, tried),
    ),
  );
}

/** Added files must agree with each other before they can agree with the dataset. */
function assertOneSchema(change: CommitChange): void {
  const first = change.added[0];
  if (first === undefined) return;
  const expected = schemaFingerprint(first.footer.schema);
  for (const file of change.added) {
    const actual = schemaFingerprint(file.footer.schema);
    if (actual !== expected) {
      const difference = columnDifference(first.footer.schema.fields, file.footer.schema.fields);
      throw schemaConflict(change.dataset, file.source ?? file.key, expected, actual, difference);
    }
  }
}

/** Applies the change to `parent` and describes the resulting snapshot. */
async function buildSnapshot(
  deps: CommitDeps,
  change: CommitChange,
  parent: StoredSnapshot | undefined,
): Promise<StoredSnapshot> {
  const { dataset } = change;
  const parentFiles = parent?.snapshot.files ?? [];
  const parentKeys = new Set(parentFiles.map((f) => f.key));
  for (const key of change.removeKeys) {
    if (!parentKeys.has(key)) {
      throw serviceError(
        Code.InvalidArgument,
        "FILE_NOT_IN_SNAPSHOT",
        `"${key}" is not a file of dataset "${dataset.name}" at version ${parent?.snapshot.version ?? 0n}`,
        { dataset: dataset.name, key },
      );
    }
  }
  const removed = new Set(change.replaceAll ? parentKeys : change.removeKeys);
  const kept = parentFiles.filter((f) => !removed.has(f.key));
  for (const file of change.added) {
    if (kept.some((f) => f.key === file.key)) {
      throw serviceError(
        Code.InvalidArgument,
        "DUPLICATE_FILE",
        `"${file.key}" is already a file of dataset "${dataset.name}"`,
        { dataset: dataset.name, key: file.key },
      );
    }
  }
  if (change.added.length === 0 && removed.size === 0) throw nothingToCommit();

  const parentSchema = parent?.snapshot.schema;
  const addedSchema = change.added[0]?.footer.schema;
  if (
    parent !== undefined &&
    parentSchema !== undefined &&
    addedSchema !== undefined &&
    !change.replaceAll
  ) {
    const expected = parent.snapshot.schemaFingerprint;
    const actual = schemaFingerprint(addedSchema);
    if (actual !== expected) {
      const difference = columnDifference(parentSchema.fields, addedSchema.fields);
      const first = change.added[0];
      throw schemaConflict(
        dataset,
        first?.source ?? first?.key ?? "",
        expected,
        actual,
        difference,
      );
    }
  }
  const schema = addedSchema ?? parentSchema ?? create(SchemaSchema, {});
  const addedFiles = change.added.map(dataFileOf);
  const files = [...kept, ...addedFiles];
  const db = await deps.duckdb();
  const columnStats = await db.withConnection((connection) =>
    // Appending folds the parent's totals with the new files; removing needs all files.
    parent !== undefined && removed.size === 0
      ? mergeColumnStats(connection, schema.fields, [parent.snapshot, ...addedFiles])
      : mergeColumnStats(connection, schema.fields, files),
  );
  const version = (parent?.snapshot.version ?? 0n) + 1n;
  return {
    idempotencyKey: change.idempotencyKey,
    addedKeys: change.added.map((f) => f.key),
    snapshot: create(SnapshotSchema, {
      version,
      parentVersion: version - 1n,
      commitTime: timestampFromDate(deps.now()),
      author: change.author,
      message: change.message,
      schema,
      schemaFingerprint: schemaFingerprint(schema),
      files,
      rowCount: files.reduce((total, f) => total + f.rowCount, 0n),
      size: files.reduce((total, f) => total + f.size, 0n),
      fileCount: BigInt(files.length),
      columnStats,
    }),
  };
}

function nothingToCommit() {
  return serviceError(
    Code.InvalidArgument,
    "NOTHING_TO_COMMIT",
    "the commit adds and removes nothing",
  );
}

function schemaConflict(
  dataset: DatasetRecord,
  key: string,
  expected: string,
  actual: string,
  difference: string,
) {
  return serviceError(
    Code.FailedPrecondition,
    "SCHEMA_CONFLICT",
    `the schema of "${key}" differs from the schema of dataset "${dataset.name}": ${difference}`,
    { dataset: dataset.name, key, expected_fingerprint: expected, actual_fingerprint: actual },
  );
}

function concurrentCommit(dataset: DatasetRecord, expected: bigint, latest: bigint) {
  return serviceError(
    Code.Aborted,
    "CONCURRENT_COMMIT",
    `dataset "${dataset.name}" is at version ${latest}, not ${expected}: re-read and retry`,
    {
      dataset: dataset.name,
      expected_parent_version: String(expected),
      latest_version: String(latest),
    },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
