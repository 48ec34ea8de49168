import { createHash } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";
import { createLruCache } from "../kit/lru-cache.js";
import { CATALOG_PREFIX } from "../kit/storage-layout.js";
import type { StorageClient } from "../storaged/client.js";
import { putObject, readObject } from "../storaged/client.js";
import { hasCode } from "./error-code.js";
import {
  type DatasetRecord,
  encodeDatasetRecord,
  encodeManifest,
  parseDatasetRecord,
  parseManifest,
  type StoredSnapshot,
} from "./manifest.js";

/**
 * The object layout of the catalog, all under the reserved prefix `_catalog/`:
 *
 * - `_catalog/datasets/<name>.json`: the dataset record, written create-only by
 *   CreateDataset. Listing this prefix lists datasets in name order and nothing else.
 * - `_catalog/snapshots/<id>/<version, 20 digits>.json`: one immutable manifest per
 *   snapshot, written create-only. That write is the commit; zero padding makes the
 *   listing order the version order.
 * - `_catalog/heads/<id>.json`: a hint of the latest version, overwritten after commits.
 *   Never trusted, only a place to start probing forward from.
 * - `_catalog/idempotency/<id>/<sha256 of key>/<version, 20 digits>.json`: one marker per
 *   version a keyed commit tried, written before its manifest, so the versions a key may
 *   have committed are all listed whenever the process died.
 *
 * Data files that ingest converts live beside, under `datasets/<name>/data/`.
 */
const DATASETS_PREFIX = `${CATALOG_PREFIX}datasets/`;

const datasetKey = (name: string) => `${DATASETS_PREFIX}${name}.json`;
const snapshotsPrefix = (id: string) => `${CATALOG_PREFIX}snapshots/${id}/`;
const snapshotKey = (id: string, version: bigint) =>
  `${snapshotsPrefix(id)}${version.toString().padStart(20, "0")}.json`;
const headKey = (id: string) => `${CATALOG_PREFIX}heads/${id}.json`;
const idempotencyPrefix = (id: string) => `${CATALOG_PREFIX}idempotency/${id}/`;
const idempotencyKeyPrefix = (id: string, key: string) =>
  `${idempotencyPrefix(id)}${createHash("sha256").update(key, "utf8").digest("hex")}/`;
const idempotencyMarkerPath = (id: string, key: string, version: bigint) =>
  `${idempotencyKeyPrefix(id, key)}${version.toString().padStart(20, "0")}.json`;

const JSON_TYPE = "application/json";

/** Datasets whose latest version and record are kept in memory. */
const DATASET_CACHE_ENTRIES = 1024;

/**
 * Bytes of manifests (a few KiB to a few MiB each: about 1 KiB per file) whose
 * parsed form is kept in memory, which takes a few times as much.
 */
const MANIFEST_CACHE_BYTES = 64 * 1024 * 1024;

/** Reads and writes the catalog's objects; the only module that knows their keys. */
export interface ManifestStore {
  /** @throws ALREADY_EXISTS (DATASET_EXISTS) when the name is taken. */
  createDataset(record: DatasetRecord): Promise<void>;
  /** @throws NOT_FOUND (DATASET_NOT_FOUND); DATA_LOSS (CORRUPT_MANIFEST). */
  getDataset(name: string): Promise<DatasetRecord>;
  /** Lists dataset records in name order; a corrupt record is reported as an Error entry. */
  listDatasets(
    pageSize: number,
    storageToken: string,
  ): Promise<{
    readonly entries: { name: string; record: DatasetRecord | Error }[];
    readonly nextStorageToken: string;
  }>;
  /** Removes the dataset record: from then on the dataset does not exist. */
  deleteDataset(name: string): Promise<void>;
  /** The latest committed version, 0 when none. Correct whatever the hint says. */
  latestVersion(dataset: DatasetRecord): Promise<bigint>;
  /**
   * The dataset record and its latest version, as {@link getDataset} then
   * {@link latestVersion} would give them, in about one storage round trip
   * when the name is known.
   *
   * @throws as {@link getDataset}.
   */
  getDatasetWithLatest(name: string): Promise<{ record: DatasetRecord; latest: bigint }>;
  /**
   * A snapshot's manifest, parsed and checked once and then shared: it is
   * frozen, so build a new message to answer with anything else. A remembered
   * one older than the latest is confirmed to still exist (another replica may
   * have expired it) with one storage HEAD.
   *
   * @throws NOT_FOUND (VERSION_NOT_FOUND); DATA_LOSS (CORRUPT_MANIFEST).
   */
  readSnapshot(dataset: DatasetRecord, version: bigint): Promise<StoredSnapshot>;
  /** Writes a manifest create-only: false when that version already exists (a lost race). */
  writeSnapshot(dataset: DatasetRecord, stored: StoredSnapshot): Promise<boolean>;
  /** Every existing version, ascending. */
  listVersions(dataset: DatasetRecord): Promise<bigint[]>;
  deleteSnapshot(dataset: DatasetRecord, version: bigint): Promise<void>;
  /** Records where the latest version is, to spare later readers a listing. */
  writeHint(dataset: DatasetRecord, version: bigint): Promise<void>;
  /** Every version a keyed commit has tried (marked), newest first. */
  readIdempotencyMarkers(dataset: DatasetRecord, key: string): Promise<bigint[]>;
  /** Marks that a keyed commit is about to try `version`; written before that manifest. */
  writeIdempotencyMarker(dataset: DatasetRecord, key: string, version: bigint): Promise<void>;
  deleteIdempotencyMarker(dataset: DatasetRecord, key: string, version: bigint): Promise<void>;
  /** Deletes every catalog object of a dataset (manifests, hint, markers). */
  deleteCatalogObjects(dataset: DatasetRecord): Promise<void>;
}

/** Creates the store over a storaged client. */
export function createManifestStore(storage: StorageClient): ManifestStore {
  // Manifests never change once written, so they are parsed and checked once and
  // kept frozen: a query's snapshot lookup costs no parse of a long file list, and
  // no caller can change what others read. Expiry and deletion evict them.
  const manifests = createLruCache<string, StoredSnapshot>(MANIFEST_CACHE_BYTES);
  // The latest version last seen per dataset id: the latest is never expired, so
  // probing forward from it finds the current latest without the hint or a listing.
  const latestSeen = createLruCache<string, bigint>(DATASET_CACHE_ENTRIES);
  // The record last read per dataset name, so the probe for a newer version can
  // start beside the read of the record rather than after it.
  const recordSeen = createLruCache<string, DatasetRecord>(DATASET_CACHE_ENTRIES);
  const exists = async (key: string): Promise<boolean> => {
    try {
      await storage.headObject({ key });
      return true;
    } catch (error) {
      if (hasCode(error, Code.NotFound)) return false;
      throw error;
    }
  };

  const readIfExists = async (key: string): Promise<Uint8Array | undefined> => {
    try {
      return await readObject(storage, key);
    } catch (error) {
      if (hasCode(error, Code.NotFound)) return undefined;
      throw error;
    }
  };

  const listKeys = async function* (prefix: string): AsyncGenerator<string> {
    let pageToken = "";
    do {
      const page = await storage.listObjects({ prefix, pageToken });
      for (const object of page.objects) yield object.key;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  };

  const listVersions = async (dataset: DatasetRecord): Promise<bigint[]> => {
    const versions: bigint[] = [];
    const prefix = snapshotsPrefix(dataset.id);
    for await (const key of listKeys(prefix)) {
      const match = /^(\d{20})\.json$/.exec(key.slice(prefix.length));
      if (match?.[1] !== undefined) versions.push(BigInt(match[1]));
    }
    return versions;
  };

  const readHint = async (dataset: DatasetRecord): Promise<bigint> => {
    const bytes = await readIfExists(headKey(dataset.id));
    if (bytes === undefined) return 0n;
    try {
      const value = (JSON.parse(Buffer.from(bytes).toString("utf8")) as { version?: unknown })
        .version;
      return typeof value === "string" && /^\d{1,19}$/.test(value) ? BigInt(value) : 0n;
    } catch {
      return 0n;
    }
  };

  const getDataset = async (name: string): Promise<DatasetRecord> => {
    const bytes = await readIfExists(datasetKey(name));
    if (bytes === undefined) {
      throw serviceError(Code.NotFound, "DATASET_NOT_FOUND", `dataset "${name}" does not exist`, {
        dataset: name,
      });
    }
    return parseDatasetRecord(bytes, name);
  };

  const latestVersion = async (dataset: DatasetRecord): Promise<bigint> => {
    // Versions exist as one gap-free range (commits add v+1 create-only, expiry removes
    // the oldest first), so from any existing version, probing forward finds the latest.
    let version = latestSeen.get(dataset.id);
    if (version === undefined) {
      version = await readHint(dataset);
      if (version === 0n || !(await exists(snapshotKey(dataset.id, version)))) {
        const versions = await listVersions(dataset);
        version = versions[versions.length - 1] ?? 0n;
        if (version === 0n) return 0n;
      }
    }
    while (await exists(snapshotKey(dataset.id, version + 1n))) version++;
    latestSeen.set(dataset.id, version);
    return version;
  };

  const deleteKey = async (key: string) => {
    await storage.deleteObject({ key });
  };

  return {
    async createDataset(record) {
      try {
        await putObject(storage, datasetKey(record.name), encodeDatasetRecord(record), {
          ifNoneMatch: true,
          contentType: JSON_TYPE,
        });
      } catch (error) {
        if (hasCode(error, Code.AlreadyExists)) {
          throw serviceError(
            Code.AlreadyExists,
            "DATASET_EXISTS",
            `dataset "${record.name}" already exists`,
            { dataset: record.name },
          );
        }
        throw error;
      }
    },

    getDataset,

    async listDatasets(pageSize, storageToken) {
      const page = await storage.listObjects({
        prefix: DATASETS_PREFIX,
        pageSize,
        pageToken: storageToken,
      });
      const entries = await Promise.all(
        page.objects.flatMap((object) => {
          const match = /^([A-Za-z_][A-Za-z0-9_]*)\.json$/.exec(
            object.key.slice(DATASETS_PREFIX.length),
          );
          const name = match?.[1];
          if (name === undefined) return [];
          return [
            readObject(storage, object.key).then(
              (bytes) => ({
                name,
                record: parseDatasetRecord(bytes, name) as DatasetRecord | Error,
              }),
              (error: unknown) => ({
                name,
                record: error instanceof Error ? error : new Error(String(error)),
              }),
            ),
          ];
        }),
      );
      return { entries, nextStorageToken: page.nextPageToken };
    },

    async deleteDataset(name) {
      await deleteKey(datasetKey(name));
    },

    latestVersion,

    async getDatasetWithLatest(name) {
      const known = recordSeen.get(name);
      const probe = known === undefined ? undefined : latestVersion(known);
      probe?.catch(() => undefined);
      const record = await getDataset(name).catch((error: unknown) => {
        recordSeen.delete(name);
        throw error;
      });
      recordSeen.set(name, record);
      if (probe !== undefined && known?.id === record.id) return { record, latest: await probe };
      return { record, latest: await latestVersion(record) };
    },

    async readSnapshot(dataset, version) {
      const key = snapshotKey(dataset.id, version);
      const notFound = () =>
        serviceError(
          Code.NotFound,
          "VERSION_NOT_FOUND",
          `dataset "${dataset.name}" has no snapshot ${version}`,
          { dataset: dataset.name, version: String(version) },
        );
      const cached = manifests.get(key);
      if (cached !== undefined) {
        // The latest is never expired; an older one may have been, by another replica.
        if (version >= (latestSeen.get(dataset.id) ?? 0n) || (await exists(key))) return cached;
        manifests.delete(key);
        throw notFound();
      }
      const bytes = version > 0n ? await readIfExists(key) : undefined;
      if (bytes === undefined) throw notFound();
      const stored = frozen(parseManifest(bytes, dataset, version));
      manifests.set(key, stored, bytes.byteLength);
      return stored;
    },

    async writeSnapshot(dataset, stored) {
      try {
        await putObject(
          storage,
          snapshotKey(dataset.id, stored.snapshot.version),
          encodeManifest(dataset.id, stored),
          {
            ifNoneMatch: true,
            contentType: JSON_TYPE,
          },
        );
        return true;
      } catch (error) {
        if (hasCode(error, Code.AlreadyExists)) return false;
        throw error;
      }
    },

    listVersions,

    async deleteSnapshot(dataset, version) {
      manifests.delete(snapshotKey(dataset.id, version));
      await deleteKey(snapshotKey(dataset.id, version));
    },

    async writeHint(dataset, version) {
      const body = Buffer.from(JSON.stringify({ version: String(version) }), "utf8");
      await putObject(storage, headKey(dataset.id), body, { contentType: JSON_TYPE });
    },

    async readIdempotencyMarkers(dataset, key) {
      const prefix = idempotencyKeyPrefix(dataset.id, key);
      const versions: bigint[] = [];
      for await (const markerKey of listKeys(prefix)) {
        const match = /^(\d{20})\.json$/.exec(markerKey.slice(prefix.length));
        if (match?.[1] !== undefined) versions.push(BigInt(match[1]));
      }
      return versions.sort((x, y) => (x > y ? -1 : x < y ? 1 : 0));
    },

    async writeIdempotencyMarker(dataset, key, version) {
      const body = Buffer.from(JSON.stringify({ key, version: String(version) }), "utf8");
      await putObject(storage, idempotencyMarkerPath(dataset.id, key, version), body, {
        contentType: JSON_TYPE,
      });
    },

    async deleteIdempotencyMarker(dataset, key, version) {
      await deleteKey(idempotencyMarkerPath(dataset.id, key, version));
    },

    async deleteCatalogObjects(dataset) {
      manifests.deleteWhere((key) => key.startsWith(snapshotsPrefix(dataset.id)));
      latestSeen.delete(dataset.id);
      for (const prefix of [idempotencyPrefix(dataset.id), snapshotsPrefix(dataset.id)]) {
        // Collect first: deleting while paging could shift the pages under the listing.
        const keys: string[] = [];
        for await (const key of listKeys(prefix)) keys.push(key);
        for (const key of keys) await deleteKey(key);
      }
      await deleteKey(headKey(dataset.id));
    },
  };
}

/** Freezes a parsed value and everything it holds, so a shared one cannot change. */
function frozen<T>(value: T): T {
  // Typed arrays cannot be frozen; a Snapshot holds none.
  if (typeof value === "object" && value !== null && !ArrayBuffer.isView(value)) {
    if (Object.isFrozen(value)) return value;
    Object.freeze(value);
    for (const child of Object.values(value)) frozen(child);
  }
  return value;
}
