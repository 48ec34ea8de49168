import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";
import { hasCode } from "./error-code.js";
import type { DatasetRecord, StoredSnapshot } from "./manifest.js";
import {
  addReferencedKeys,
  type CleanupDeps,
  DEFAULT_ORPHAN_GRACE_MS,
  deleteOrphanFiles,
  deleteUnreferencedFiles,
  type OrphanSweep,
} from "./unreferenced-files.js";

/**
 * Deletes a dataset: its record first (from that moment the name is free and the
 * dataset gone for every reader), then its manifests, hint and markers, then the data
 * files only it referenced. A manifest that cannot be read is deleted all the same;
 * its files then stay (see deleteUnreferencedFiles for why leaking beats guessing).
 */
export async function deleteDataset(deps: CleanupDeps, dataset: DatasetRecord): Promise<void> {
  const referenced = new Set<string>();
  for (const version of await deps.store.listVersions(dataset)) {
    const stored = await readIfReadable(deps, dataset, version);
    for (const file of stored?.snapshot.files ?? []) referenced.add(file.key);
  }
  await deps.store.deleteDataset(dataset.name);
  await deps.store.deleteCatalogObjects(dataset);
  await deleteUnreferencedFiles(deps, dataset, referenced);
}

async function readIfReadable(
  deps: CleanupDeps,
  dataset: DatasetRecord,
  version: bigint,
): Promise<StoredSnapshot | undefined> {
  try {
    return await deps.store.readSnapshot(dataset, version);
  } catch (error) {
    if (hasCode(error, Code.NotFound) || hasCode(error, Code.DataLoss)) return undefined;
    throw error;
  }
}

/** What ExpireSnapshots reports. */
export interface ExpiryResult {
  readonly expiredVersions: bigint[];
  /** Every data file deleted: those only expired snapshots referenced, and orphans. */
  readonly deletedFiles: number;
  /** How many of `deletedFiles` were orphans no snapshot had referenced. */
  readonly deletedOrphans: number;
}

/**
 * Expires all but the `keepLast` newest snapshots: deletes their manifests oldest first
 * (so the versions left stay one gap-free range, which finding the latest relies on)
 * and their idempotency markers, then the files no remaining snapshot references,
 * including any committed meanwhile. Then it reclaims orphans, files under the dataset's
 * data prefix that no snapshot references and older than `sweep.graceMs` (see
 * deleteOrphanFiles), whether or not any snapshot expired: nothing else ever would.
 *
 * @throws INVALID_ARGUMENT (INVALID_KEEP_LAST) when `keepLast` is below 1; DATA_LOSS when
 *   a manifest involved is corrupt (nothing is expired then).
 */
export async function expireSnapshots(
  deps: CleanupDeps,
  dataset: DatasetRecord,
  keepLast: bigint,
  sweep: OrphanSweep = { graceMs: DEFAULT_ORPHAN_GRACE_MS, now: new Date() },
): Promise<ExpiryResult> {
  if (keepLast < 1n) {
    throw serviceError(Code.InvalidArgument, "INVALID_KEEP_LAST", "keep_last must be at least 1");
  }
  const versions = await deps.store.listVersions(dataset);
  const cut = Math.max(0, versions.length - Number(keepLast > 1_000_000n ? 1_000_000n : keepLast));
  const expired = versions.slice(0, cut);
  const deletedExpired = expired.length === 0 ? 0 : await expire(deps, dataset, versions, cut);
  const deletedOrphans = await deleteOrphanFiles(deps, dataset, sweep);
  return {
    expiredVersions: expired,
    deletedFiles: deletedExpired + deletedOrphans,
    deletedOrphans,
  };
}

/** Expires `versions` before index `cut`; returns how many of their files were deleted. */
async function expire(
  deps: CleanupDeps,
  dataset: DatasetRecord,
  versions: readonly bigint[],
  cut: number,
): Promise<number> {
  const expired = versions.slice(0, cut);
  const kept = versions.slice(cut);
  const expiredSnapshots = await Promise.all(
    expired.map((v) => deps.store.readSnapshot(dataset, v)),
  );
  const keptKeys = new Set<string>();
  await addReferencedKeys(deps.store, dataset, kept, keptKeys);
  for (const stored of expiredSnapshots) {
    await deps.store.deleteSnapshot(dataset, stored.snapshot.version);
    if (stored.idempotencyKey !== "") {
      await deps.store.deleteIdempotencyMarker(
        dataset,
        stored.idempotencyKey,
        stored.snapshot.version,
      );
    }
  }
  // Snapshots committed while this ran may reference files again.
  const newest = await deps.store.latestVersion(dataset);
  const lastKept = kept[kept.length - 1] ?? 0n;
  const newer: bigint[] = [];
  for (let v = lastKept + 1n; v <= newest; v++) newer.push(v);
  await addReferencedKeys(deps.store, dataset, newer, keptKeys);
  const candidates = new Set<string>();
  for (const stored of expiredSnapshots) {
    for (const file of stored.snapshot.files) if (!keptKeys.has(file.key)) candidates.add(file.key);
  }
  return deleteUnreferencedFiles(deps, dataset, candidates);
}
