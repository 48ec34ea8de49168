import { create } from "@bufbuild/protobuf";
import { type Client, Code, type HandlerContext } from "@connectrpc/connect";
import type { CatalogService, Snapshot } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { type ReadReceipt, ReadReceiptSchema } from "../../gen/lakehouse/query/v1/query_pb.js";
import { serviceError } from "../kit/errors.js";
import type { CallerIdentity } from "../kit/identity/caller-identity.js";
import { requireDatasetGrant } from "../kit/identity/dataset-grants.js";
import { sqlIdentifier, sqlString } from "../kit/sql-text.js";
import type { DuckDBEngine } from "./duckdb-engine.js";
import type { CacheLease, FileCache } from "./file-cache.js";
import type { JsonObject } from "./lossless-json.js";
import { parseStatement, renderStatement, tableFragment } from "./sql-ast.js";
import {
  bindDatasetReferences,
  type DatasetReference,
  findDatasetReferences,
} from "./statement-resolver.js";

/** A CatalogService client, as queryd holds one. */
export type CatalogClient = Client<typeof CatalogService>;

/** What resolving a statement needs. */
export interface QueryResolutionDeps {
  readonly engine: DuckDBEngine;
  readonly catalog: CatalogClient;
  readonly cache: FileCache;
  /**
   * The caller of a call, whose dataset grants every dataset a statement
   * reads must match; when absent, no grants apply (in-process tests).
   */
  readonly callerOf?: (context: HandlerContext) => CallerIdentity;
}

/** A user statement bound to local, verified files: ready to run. */
export interface ResolvedQuery {
  /** The statement with every dataset name replaced by a scan of its snapshot's files. */
  readonly sql: string;
  /** Every dataset snapshot the statement reads, in order of first mention. */
  readonly receipts: readonly ReadReceipt[];
  /** Lets the cache evict the files again; call when the statement is done. */
  release(): void;
}

/** Options of {@link resolveQuery}. */
export interface ResolveOptions {
  /** The schema fingerprint the caller expects per dataset name. */
  readonly expectedSchemaFingerprints?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Whose grants apply: every dataset the statement names must be granted. */
  readonly caller?: CallerIdentity | undefined;
}

interface Binding {
  readonly name: string;
  readonly snapshot: Snapshot;
  fragment?: JsonObject;
}

/**
 * Resolves a user statement: parse (refusing anything but one safe SELECT),
 * look each dataset up in the catalog (latest or pinned snapshot), check the
 * expected schema fingerprints before anything runs, pin the snapshot files
 * in the local cache, and rewrite the statement to read those files.
 *
 * Grants are checked on every dataset the statement names (joins, subqueries
 * and CTEs included) before the catalog is asked about any of them.
 *
 * @throws errors of parsing and the statement resolver; PERMISSION_DENIED
 * (DATASET_NOT_GRANTED) for a dataset outside the caller's grants; the catalog's
 * NOT_FOUND for an unknown dataset or version; NOT_FOUND (DATASET_EMPTY) for
 * a dataset with no snapshot yet; FAILED_PRECONDITION
 * (SCHEMA_FINGERPRINT_MISMATCH); cache errors.
 */
export async function resolveQuery(
  deps: QueryResolutionDeps,
  sql: string,
  options: ResolveOptions = {},
): Promise<ResolvedQuery> {
  const { engine, catalog, cache } = deps;
  const ast = await engine.withUtilityConnection((connection) => parseStatement(connection, sql));
  const references = findDatasetReferences(ast);
  const { caller } = options;
  if (caller !== undefined) {
    for (const reference of references) requireDatasetGrant(caller, reference.name);
  }
  const bindings = new Map<string, Promise<Binding>>();
  const keyOf = (reference: DatasetReference) =>
    `${reference.name}@${reference.version ?? "latest"}`;
  for (const reference of references) {
    const key = keyOf(reference);
    if (!bindings.has(key)) bindings.set(key, lookUp(catalog, reference, options.signal));
  }
  const resolved = await Promise.all(bindings.values());
  const receipts = resolved.map((binding) =>
    create(ReadReceiptSchema, {
      dataset: binding.name,
      version: binding.snapshot.version,
      schemaFingerprint: binding.snapshot.schemaFingerprint,
    }),
  );
  checkFingerprints(receipts, options.expectedSchemaFingerprints ?? {});
  const files = resolved.flatMap((binding) => binding.snapshot.files);
  const lease: CacheLease = await cache.acquire(files, options.signal);
  try {
    const rewritten = await engine.withUtilityConnection(async (connection) => {
      let offset = 0;
      for (const binding of resolved) {
        const paths = lease.paths.slice(offset, offset + binding.snapshot.files.length);
        offset += binding.snapshot.files.length;
        binding.fragment = await tableFragment(connection, scanOf(binding.snapshot, paths));
      }
      const byKey = new Map([...bindings.keys()].map((key, index) => [key, resolved[index]]));
      bindDatasetReferences(references, (reference) => {
        const fragment = byKey.get(keyOf(reference))?.fragment;
        if (fragment === undefined) throw new Error(`no binding for ${reference.name}`);
        return fragment;
      });
      return renderStatement(connection, ast);
    });
    return { sql: rewritten, receipts, release: () => lease.release() };
  } catch (error) {
    lease.release();
    throw error;
  }
}

async function lookUp(
  catalog: CatalogClient,
  reference: DatasetReference,
  signal?: AbortSignal,
): Promise<Binding> {
  const response = await catalog.getDataset(
    { name: reference.name, version: reference.version ?? 0n },
    { signal },
  );
  const snapshot = response.dataset?.snapshot;
  if (snapshot === undefined) {
    throw serviceError(
      Code.NotFound,
      "DATASET_EMPTY",
      `dataset ${reference.name} has no snapshot yet`,
      {
        dataset: reference.name,
      },
    );
  }
  return { name: reference.name, snapshot };
}

function checkFingerprints(
  receipts: readonly ReadReceipt[],
  expected: Readonly<Record<string, string>>,
): void {
  for (const receipt of receipts) {
    const wanted = expected[receipt.dataset];
    if (wanted !== undefined && wanted !== receipt.schemaFingerprint) {
      throw serviceError(
        Code.FailedPrecondition,
        "SCHEMA_FINGERPRINT_MISMATCH",
        `dataset ${receipt.dataset} version ${receipt.version} has schema fingerprint ${receipt.schemaFingerprint}, not ${wanted}`,
        {
          dataset: receipt.dataset,
          version: String(receipt.version),
          expected: wanted,
          actual: receipt.schemaFingerprint,
        },
      );
    }
  }
}

/**
 * The FROM item that reads a snapshot: its files, or for a snapshot without
 * files an empty relation with the snapshot's columns.
 */
function scanOf(snapshot: Snapshot, paths: readonly string[]): string {
  if (paths.length > 0)
    return `read_parquet([${paths.map(sqlString).join(", ")}]) AS ${sqlIdentifier("t")}`;
  const columns = (snapshot.schema?.fields ?? []).map(
    (field) => `CAST(NULL AS ${field.type}) AS ${sqlIdentifier(field.name)}`,
  );
  return `(SELECT ${columns.length > 0 ? columns.join(", ") : "NULL AS empty"} LIMIT 0) AS ${sqlIdentifier("t")}`;
}
