import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { dataPrefix } from "../kit/storage-layout.js";
import type { StorageClient } from "../storaged/client.js";
import { hasCode } from "./error-code.js";
import type { DatasetRecord } from "./manifest.js";
import type { ManifestStore } from "./manifest-store.js";

/** What file cleanup needs. */
export interface CleanupDeps {
  readonly storage: StorageClient;
  readonly store: ManifestStore;
}

/**
 * Deletes those `candidates` (files a dataset stopped referencing) that nothing else
 * references. Files under the dataset's own data prefix belong to it alone; any other
 * key may have been registered by other datasets too, so their snapshots are searched
 * first, and when one of them cannot be read, foreign files are kept: a leaked file
 * costs space, a wrongly deleted one costs data. Returns how many files were deleted.
 */
export async function deleteUnreferencedFiles(
  deps: CleanupDeps,
  dataset: DatasetRecord,
  candidates: ReadonlySet<string>,
): Promise<number> {
  const own = [...candidates].filter((key) => key.startsWith(dataPrefix(dataset.name)));
  let foreign = [...candidates].filter((key) => !key.startsWith(dataPrefix(dataset.name)));
  if (foreign.length > 0) {
    const elsewhere = await keysReferencedElsewhere(deps.store, dataset, new Set(foreign));
    foreign = elsewhere === undefined ? [] : foreign.filter((key) => !elsewhere.has(key));
  }
  let deleted = 0;
  for (const key of [...own, ...foreign]) {
    const response = await deps.storage.deleteObject({ key });
    if (response.deleted) deleted++;
  }
  return deleted;
}

/**
 * How long an unreferenced file under a dataset's data prefix is left alone: ingest
 * and WriteQueryResult upload their file before they commit it, so a young file may
 * be one a commit in flight is about to reference. One hour outlasts any of them.
 */
export const DEFAULT_ORPHAN_GRACE_MS = 3_600_000;

/** When an unreferenced file counts as an orphan rather than a commit in flight. */
export interface OrphanSweep {
  /** Files written less than this long before `now` are kept. */
  readonly graceMs: number;
  /** The time file ages are measured against. */
  readonly now: Date;
}

/**
 * Adds to `into` the key of every file the given snapshots reference. A snapshot
 * already gone was expired by a concurrent expiry, which deletes the files only it
 * referenced itself, so it is passed over; any other failure (DATA_LOSS) is thrown,
 * since files cannot be judged unreferenced without it.
 */
export async function addReferencedKeys(
  store: ManifestStore,
  dataset: DatasetRecord,
  versions: readonly bigint[],
  into: Set<string>,
): Promise<void> {
  for (const version of versions) {
    try {
      const stored = await store.readSnapshot(dataset, version);
      for (const file of stored.snapshot.files) into.add(file.key);
    } catch (error) {
      if (!hasCode(error, Code.NotFound)) throw error;
    }
  }
}

/**
 * Deletes orphans: files under the dataset's own data prefix that no snapshot of it
 * references and that are older than the grace period (left by a catalogd that died
 * between upload and commit, a commit that lost to a drop, a WriteQueryResult that
 * failed). The prefix is listed before the snapshots are read, so a file committed
 * meanwhile is seen as referenced. Nothing is deleted once the name no longer belongs
 * to this dataset (dropped, perhaps created again): the prefix then holds another
 * dataset's files. Keys elsewhere are never touched: they may belong to others. A file
 * whose write time is unknown is kept. Returns how many were deleted.
 */
export async function deleteOrphanFiles(
  deps: CleanupDeps,
  dataset: DatasetRecord,
  sweep: OrphanSweep,
): Promise<number> {
  const writtenBefore = sweep.now.getTime() - sweep.graceMs;
  const old: string[] = [];
  let pageToken = "";
  do {
    const page = await deps.storage.listObjects({ prefix: dataPrefix(dataset.name), pageToken });
    for (const object of page.objects) {
      // A backend that knows no write time reports none or the epoch: such a file is kept.
      const written = object.modifyTime === undefined ? 0 : timestampMs(object.modifyTime);
      if (written > 0 && written < writtenBefore) old.push(object.key);
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  if (old.length === 0) return 0;
  const referenced = new Set<string>();
  await addReferencedKeys(deps.store, dataset, await deps.store.listVersions(dataset), referenced);
  if (!(await stillNamed(deps.store, dataset))) return 0;
  let deleted = 0;
  for (const key of old) {
    if (referenced.has(key)) continue;
    const response = await deps.storage.deleteObject({ key });
    if (response.deleted) deleted++;
  }
  return deleted;
}

/** Whether the dataset's name still leads to this dataset (same id). */
async function stillNamed(store: ManifestStore, dataset: DatasetRecord): Promise<boolean> {
  try {
    return (await store.getDataset(dataset.name)).id === dataset.id;
  } catch (error) {
    if (hasCode(error, Code.NotFound)) return false;
    throw error;
  }
}

/** Which of `keys` other datasets reference; undefined when that cannot be known. */
async function keysReferencedElsewhere(
  store: ManifestStore,
  dataset: DatasetRecord,
  keys: ReadonlySet<string>,
): Promise<Set<string> | undefined> {
  const referenced = new Set<string>();
  let token = "";
  do {
    const page = await store.listDatasets(1000, token);
    for (const entry of page.entries) {
      if (entry.record instanceof Error) return undefined;
      if (entry.record.id === dataset.id) continue;
      try {
        for (const version of await store.listVersions(entry.record)) {
          const stored = await store.readSnapshot(entry.record, version);
          for (const file of stored.snapshot.files)
            if (keys.has(file.key)) referenced.add(file.key);
        }
      } catch {
        return undefined;
      }
    }
    token = page.nextStorageToken;
  } while (token !== "");
  return referenced;
}
