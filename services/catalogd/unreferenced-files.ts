import { dataPrefix } from "../kit/storage-layout.js";
import type { StorageClient } from "../storaged/client.js";
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
