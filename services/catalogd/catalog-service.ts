import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type CatalogService,
  type Dataset,
  DatasetSchema,
  type Snapshot,
  SnapshotSchema,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";
import type { CallerIdentity } from "../kit/identity/caller-identity.js";
import { isDatasetGranted, requireDatasetGrant } from "../kit/identity/dataset-grants.js";
import { mapBounded } from "../kit/map-bounded.js";
import type { StorageClient } from "../storaged/client.js";
import { type CatalogDuckDB, openCatalogDuckDB } from "./catalog-duckdb.js";
import { type CommitDeps, commitChange, findKeyedCommit, prepareAddedFiles } from "./commit.js";
import { deleteDataset, expireSnapshots } from "./dataset-maintenance.js";
import { canonicalDatasetName } from "./dataset-name.js";
import { hasCode } from "./error-code.js";
import { ingestObject } from "./ingest.js";
import type { DatasetRecord } from "./manifest.js";
import { createManifestStore, type ManifestStore } from "./manifest-store.js";
import { decodePageToken, encodePageToken, resolvePageSize } from "./page-token.js";
import { checkIdempotencyKey, checkText, checkVersion, requireText } from "./request-checks.js";
import { diffSnapshots } from "./snapshot-diff.js";
import { DEFAULT_ORPHAN_GRACE_MS } from "./unreferenced-files.js";

/** Options of {@link createCatalogService}. */
export interface CatalogServiceOptions {
  /** storaged, where the whole catalog lives. */
  readonly storage: StorageClient;
  /** A local directory for short-lived temp files (downloads, conversions). */
  readonly workDirectory: string;
  /** The process's DuckDB instance; opened on first use (locked to the work directory) when absent. */
  readonly duckdb?: CatalogDuckDB;
  /** Who is calling, for `Snapshot.author`; "anonymous" when absent or empty. */
  readonly authorOf?: (context: HandlerContext) => string;
  /**
   * The caller whose dataset grants every RPC checks (ListDatasets lists only
   * granted datasets); when absent, no grants apply (in-process tests).
   */
  readonly callerOf?: (context: HandlerContext) => CallerIdentity;
  /** Lost races a commit without expected parent survives before ABORTED; default 100. */
  readonly maxCommitAttempts?: number;
  /** The clock for commit and create times, and for the ages of orphaned files. */
  readonly now?: () => Date;
  /**
   * How old an unreferenced file under a dataset's data prefix must be before
   * ExpireSnapshots deletes it; default DEFAULT_ORPHAN_GRACE_MS (1 hour).
   */
  readonly orphanGraceMs?: number;
}

/** Manifests read at once while listing. */
const READ_CONCURRENCY = 16;

/** A page of ListDatasets before the records are turned into messages. */
type DatasetEntries = Awaited<ReturnType<ManifestStore["listDatasets"]>>;

/**
 * A page of the datasets `granted` accepts, and the storage token that leads on.
 * Datasets outside the grants are skipped and more are listed until the page
 * is full or the listing ends, so only the last page is short. Each listing
 * asks for no more entries than the page still lacks, so the page fills on the
 * last entry listed and its token is the position of the last dataset
 * returned: a token never names a dataset the caller may not see (grants
 * reveal no names). The price is one storage listing per run of skipped
 * datasets.
 */
async function listGrantedEntries(
  store: ManifestStore,
  pageSize: number,
  storageToken: string,
  granted: (name: string) => boolean,
): Promise<DatasetEntries> {
  const entries: DatasetEntries["entries"] = [];
  let nextStorageToken = storageToken;
  do {
    const page = await store.listDatasets(pageSize - entries.length, nextStorageToken);
    entries.push(...page.entries.filter(({ name }) => granted(name)));
    nextStorageToken = page.nextStorageToken;
  } while (nextStorageToken !== "" && entries.length < pageSize);
  return { entries, nextStorageToken };
}

/**
 * Implements lakehouse.catalog.v1.CatalogService with all state in storaged (manifests
 * written create-only; see manifest-store.ts for the layout). Stateless apart from temp
 * files, so any number of replicas can share one store.
 */
export function createCatalogService(
  options: CatalogServiceOptions,
): ServiceImpl<typeof CatalogService> {
  const store = createManifestStore(options.storage);
  let duckdb: Promise<CatalogDuckDB> | undefined =
    options.duckdb && Promise.resolve(options.duckdb);
  const deps: CommitDeps = {
    storage: options.storage,
    store,
    workDirectory: options.workDirectory,
    duckdb: () => {
      duckdb ??= openCatalogDuckDB({ workDirectory: options.workDirectory });
      return duckdb;
    },
    now: options.now ?? (() => new Date()),
    maxCommitAttempts: options.maxCommitAttempts ?? 100,
  };
  const authorOf = (context: HandlerContext) => options.authorOf?.(context) || "anonymous";

  /** A valid dataset name the caller holds a grant for; PERMISSION_DENIED otherwise. */
  const grantedName = (context: HandlerContext, name: string) => {
    const valid = canonicalDatasetName(name);
    if (options.callerOf) requireDatasetGrant(options.callerOf(context), valid);
    return valid;
  };
  const getDataset = (context: HandlerContext, name: string) =>
    store.getDataset(grantedName(context, name));

  /** The dataset as the RPCs return it; `snapshot` left out when there is none (version 0). */
  const datasetMessage = (
    record: DatasetRecord,
    latestVersion: bigint,
    snapshot?: Snapshot,
  ): Dataset =>
    create(DatasetSchema, {
      name: record.name,
      description: record.description,
      createTime: timestampFromDate(record.createTime),
      latestVersion,
      snapshot,
    });

  /** A snapshot for list answers and `omit_files`: everything but the file list. */
  const withoutFiles = (snapshot: Snapshot): Snapshot =>
    create(SnapshotSchema, { ...snapshot, files: [] });

  return {
    async createDataset(request, context) {
      const record: DatasetRecord = {
        name: grantedName(context, request.name),
        id: randomUUID(),
        description: checkText("description", request.description),
        createTime: deps.now(),
      };
      await store.createDataset(record);
      return { dataset: datasetMessage(record, 0n) };
    },

    async getDataset(request, context) {
      const requested = checkVersion("version", request.version);
      const { record, latest } = await store.getDatasetWithLatest(
        grantedName(context, request.name),
      );
      if (requested === 0n && latest === 0n) return { dataset: datasetMessage(record, 0n) };
      const stored = await store.readSnapshot(record, requested === 0n ? latest : requested);
      const snapshot = request.omitFiles ? withoutFiles(stored.snapshot) : stored.snapshot;
      return { dataset: datasetMessage(record, latest, snapshot) };
    },

    async listDatasets(request, context) {
      const caller = options.callerOf?.(context);
      const { entries, nextStorageToken } = await listGrantedEntries(
        store,
        resolvePageSize(request.pageSize),
        decodePageToken("datasets", request.pageToken),
        caller ? (name) => isDatasetGranted(caller.datasets, name) : () => true,
      );
      const datasets = await mapBounded(entries, READ_CONCURRENCY, async ({ name, record }) => {
        // One unreadable dataset must not hide the others: it is listed by name only.
        if (record instanceof Error) return create(DatasetSchema, { name });
        const latest = await store.latestVersion(record);
        if (latest === 0n) return datasetMessage(record, 0n);
        try {
          const stored = await store.readSnapshot(record, latest);
          return datasetMessage(record, latest, withoutFiles(stored.snapshot));
        } catch (error) {
          if (hasCode(error, Code.DataLoss) || hasCode(error, Code.NotFound)) {
            return datasetMessage(record, latest);
          }
          throw error;
        }
      });
      const nextPageToken =
        nextStorageToken === "" ? "" : encodePageToken("datasets", nextStorageToken);
      return { datasets, nextPageToken };
    },

    async deleteDataset(request, context) {
      await deleteDataset(deps, await getDataset(context, request.name));
      return {};
    },

    async commitSnapshot(request, context) {
      const record = await getDataset(context, request.dataset);
      const idempotencyKey = checkIdempotencyKey(request.idempotencyKey);
      const message = checkText("message", request.message);
      const expectedParentVersion = checkVersion(
        "expected_parent_version",
        request.expectedParentVersion,
      );
      let keySearchedUpTo = 0n;
      if (idempotencyKey !== "") {
        const search = await findKeyedCommit(store, record, idempotencyKey);
        if (search.found !== undefined) return { snapshot: search.found.snapshot, replayed: true };
        keySearchedUpTo = search.searchedUpTo;
      }
      const added = await prepareAddedFiles(deps, record.name, request.addFiles);
      const outcome = await commitChange(deps, {
        dataset: record,
        added,
        removeKeys: request.removeFiles,
        replaceAll: request.replaceAll,
        expectedParentVersion,
        idempotencyKey,
        keySearchedUpTo,
        message,
        author: authorOf(context),
      });
      return { snapshot: outcome.stored.snapshot, replayed: outcome.replayed };
    },

    async listSnapshots(request, context) {
      const record = await getDataset(context, request.dataset);
      const pageSize = resolvePageSize(request.pageSize);
      const position = decodePageToken(`snapshots:${record.id}`, request.pageToken);
      if (position !== "" && !/^\d{1,19}$/.test(position)) {
        throw serviceError(Code.InvalidArgument, "INVALID_PAGE_TOKEN", "page token is not valid");
      }
      const start = position === "" ? await store.latestVersion(record) : BigInt(position);
      const versions: bigint[] = [];
      for (let v = start; v > 0n && versions.length < pageSize; v--) versions.push(v);
      const read = await mapBounded(versions, READ_CONCURRENCY, (version) =>
        store.readSnapshot(record, version).catch((error: unknown) => {
          // Expired meanwhile: it and every older snapshot are gone.
          if (hasCode(error, Code.NotFound)) return undefined;
          throw error;
        }),
      );
      const gone = read.indexOf(undefined);
      const kept = gone === -1 ? read : read.slice(0, gone);
      const snapshots = kept.flatMap((stored) => (stored ? [withoutFiles(stored.snapshot)] : []));
      const lowest = versions[versions.length - 1] ?? 0n;
      const more = gone === -1 && lowest > 1n;
      return {
        snapshots,
        nextPageToken: more ? encodePageToken(`snapshots:${record.id}`, String(lowest - 1n)) : "",
      };
    },

    async diffSnapshots(request, context) {
      const record = await getDataset(context, request.dataset);
      const fromVersion = checkVersion("from_version", request.fromVersion, true);
      const requestedTo = checkVersion("to_version", request.toVersion);
      const toVersion = requestedTo === 0n ? await store.latestVersion(record) : requestedTo;
      const [from, to] = await Promise.all([
        store.readSnapshot(record, fromVersion),
        store.readSnapshot(record, toVersion),
      ]);
      return diffSnapshots(from.snapshot, to.snapshot);
    },

    async ingestObject(request, context) {
      const name = grantedName(context, request.dataset);
      const sourceKey = requireText("source_key", request.sourceKey);
      const idempotencyKey = checkIdempotencyKey(request.idempotencyKey);
      const message = checkText("message", request.message);
      const expectedParentVersion = checkVersion(
        "expected_parent_version",
        request.expectedParentVersion,
      );
      let dataset: DatasetRecord;
      let createDataset = false;
      try {
        dataset = await store.getDataset(name);
      } catch (error) {
        if (!hasCode(error, Code.NotFound) || !request.createIfMissing) throw error;
        dataset = { name, id: randomUUID(), description: "", createTime: deps.now() };
        createDataset = true;
      }
      const outcome = await ingestObject(deps, {
        dataset,
        sourceKey,
        format: request.format,
        replaceAll: request.replaceAll,
        expectedParentVersion,
        idempotencyKey,
        message,
        deleteSource: request.deleteSource,
        author: authorOf(context),
        createDataset,
        readerOptions: request.readerOptions,
      });
      return {
        snapshot: outcome.stored.snapshot,
        file: outcome.file,
        datasetCreated: outcome.datasetCreated,
        replayed: outcome.replayed,
      };
    },

    async expireSnapshots(request, context) {
      const record = await getDataset(context, request.dataset);
      const result = await expireSnapshots(deps, record, request.keepLast, {
        graceMs: options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS,
        now: deps.now(),
      });
      return { expiredVersions: result.expiredVersions, deletedFiles: BigInt(result.deletedFiles) };
    },
  };
}
