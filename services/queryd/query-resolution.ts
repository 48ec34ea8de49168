import { create } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { type Client, Code, type HandlerContext } from "@connectrpc/connect";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { CatalogService, Snapshot } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { type ReadReceipt, ReadReceiptSchema } from "../../gen/lakehouse/query/v1/query_pb.js";
import { serviceError } from "../kit/errors.js";
import type { CallerIdentity } from "../kit/identity/caller-identity.js";
import { requireDatasetGrant } from "../kit/identity/dataset-grants.js";
import { createLruCache } from "../kit/lru-cache.js";
import { sqlIdentifier, sqlString } from "../kit/sql-text.js";
import type { ColumnarCopies } from "./columnar-copies.js";
import type { DuckDBEngine } from "./duckdb-engine.js";
import type { CacheLease, FileCache } from "./file-cache.js";
import type { JsonObject } from "./lossless-json.js";
import { parseStatement, renderStatement, tableFragment } from "./sql-ast.js";
import {
  createStatementCache,
  type DatasetMention,
  type StatementEntry,
} from "./statement-cache.js";
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
  /** Copies of hot files in DuckDB's format, scanned instead of them once made; none when absent. */
  readonly copies?: ColumnarCopies;
}

/** What each query RPC needs to resolve and run statements. */
export interface StatementDeps {
  readonly engine: DuckDBEngine;
  readonly resolver: QueryResolver;
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
  /**
   * Settles once the catalog has confirmed the snapshots bound: true when
   * each is still the one the statement names, false when one has moved on
   * (the statement must be resolved again before its answer is released);
   * rejects with the catalog's error (the dataset was dropped, say). True
   * from the start unless the resolution was optimistic.
   */
  readonly current: Promise<boolean>;
  /** Lets the cache evict the files again; call when the statement is done. */
  release(): void;
  /** Counts the statement as a read of its files, which earns them columnar copies; call once it ran. */
  countRead(): void;
}

/** Options of {@link QueryResolver.resolve}. */
export interface ResolveOptions {
  /** The schema fingerprint the caller expects per dataset name. */
  readonly expectedSchemaFingerprints?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Whose grants apply: every dataset the statement names must be granted. */
  readonly caller?: CallerIdentity | undefined;
  /**
   * Bind the snapshots the catalog named last time for the same dataset
   * mention, and ask the catalog again concurrently ({@link ResolvedQuery.current}),
   * so the lookup overlaps the statement's run instead of preceding it.
   */
  readonly optimistic?: boolean;
}

/** Resolves user statements; holds what repeated statements can reuse. */
export interface QueryResolver {
  /**
   * Resolves a user statement: parse (refusing anything but one safe
   * SELECT), look each dataset up in the catalog (latest or pinned
   * snapshot), check the expected schema fingerprints before anything runs,
   * pin the snapshot files in the local cache, and rewrite the statement to
   * read those files.
   *
   * Grants are checked on every dataset the statement names (joins,
   * subqueries and CTEs included) before the catalog is asked about any of them.
   *
   * @throws errors of parsing and the statement resolver; PERMISSION_DENIED
   * (DATASET_NOT_GRANTED) for a dataset outside the caller's grants; the catalog's
   * NOT_FOUND for an unknown dataset or version; NOT_FOUND (DATASET_EMPTY) for
   * a dataset with no snapshot yet; FAILED_PRECONDITION
   * (SCHEMA_FINGERPRINT_MISMATCH); cache errors.
   */
  resolve(sql: string, options?: ResolveOptions): Promise<ResolvedQuery>;
}

/** Dataset mentions (`name@version`) whose last looked-up snapshot is remembered. */
const REMEMBERED_SNAPSHOTS = 1024;

interface Binding {
  readonly mention: DatasetMention;
  readonly key: string;
  readonly snapshot: Snapshot;
  /** Whether a snapshot taken from memory is still the current one, once the catalog answers. */
  readonly confirmation?: Promise<boolean>;
}

const mentionKey = (mention: DatasetMention) => `${mention.name}@${mention.version ?? "latest"}`;

/**
 * Creates the resolver. Statement texts are parsed and rewritten once per
 * set of bound files ({@link StatementCache}); the last snapshot the catalog
 * named per dataset mention is remembered for optimistic resolution, which
 * never lets an answer out unconfirmed: it only moves the catalog lookup off
 * the critical path.
 */
export function createQueryResolver(deps: QueryResolutionDeps): QueryResolver {
  const { engine, catalog, cache, copies } = deps;
  const statements = createStatementCache();
  const snapshots = createLruCache<string, CatalogAnswer>(REMEMBERED_SNAPSHOTS);

  const bind = async (mention: DatasetMention, options: ResolveOptions): Promise<Binding> => {
    const key = mentionKey(mention);
    const remembered = options.optimistic === true ? snapshots.get(key) : undefined;
    if (remembered === undefined) {
      const answer = await lookUp(catalog, mention, { signal: options.signal });
      snapshots.set(key, answer);
      return { mention, key, snapshot: answer.snapshot };
    }
    // The confirmation asks only which snapshot is current: no file list.
    const confirmation = lookUp(catalog, mention, { signal: options.signal, omitFiles: true }).then(
      (answer) => {
        const same = answer.identity === remembered.identity;
        if (!same) snapshots.delete(key);
        return same;
      },
      (error: unknown) => {
        snapshots.delete(key);
        throw error;
      },
    );
    // Read through `current`; when resolution fails first, nobody reads it.
    confirmation.catch(() => undefined);
    return { mention, key, snapshot: remembered.snapshot, confirmation };
  };

  /** Pins the bindings' files and rewrites the statement to scan them. */
  const bindFiles = async (
    sql: string,
    entry: StatementEntry,
    parsed: ParsedStatement | undefined,
    bindings: readonly Binding[],
    options: ResolveOptions,
  ): Promise<ResolvedQuery> => {
    const receipts = bindings.map(({ mention, snapshot }) =>
      create(ReadReceiptSchema, {
        dataset: mention.name,
        version: snapshot.version,
        schemaFingerprint: snapshot.schemaFingerprint,
      }),
    );
    checkFingerprints(receipts, options.expectedSchemaFingerprints ?? {});
    const files = bindings.flatMap((binding) => binding.snapshot.files);
    const lease: CacheLease = await cache.acquire(files, options.signal);
    try {
      const scans = splitPaths(bindings, lease.paths).map((paths, index) =>
        scanSegments(bindings[index]?.snapshot.files ?? [], paths, copies),
      );
      const boundFiles = boundFilesKey(bindings, scans);
      let rewritten = entry.rendering?.boundFiles === boundFiles ? entry.rendering.sql : undefined;
      if (rewritten === undefined) {
        rewritten = await engine.withUtilityConnection(async (connection) => {
          const { ast, references } = parsed ?? (await parseReferences(connection, sql));
          const fragments = new Map<string, JsonObject>();
          for (const [index, binding] of bindings.entries()) {
            fragments.set(
              binding.key,
              await tableFragment(connection, scanOf(binding.snapshot, scans[index] ?? [])),
            );
          }
          bindDatasetReferences(references, (reference) => {
            const fragment = fragments.get(mentionKey(reference));
            if (fragment === undefined) throw new Error(`no binding for ${reference.name}`);
            return fragment;
          });
          return renderStatement(connection, ast);
        });
        entry.rendering = { boundFiles, sql: rewritten };
      }
      return {
        sql: rewritten,
        receipts,
        current: confirmed(bindings),
        release: () => lease.release(),
        countRead: () =>
          copies?.noteRead(
            bindings.flatMap(({ snapshot }) =>
              snapshot.files.length <= MAX_SEGMENTS_PER_SCAN ? snapshot.files : [],
            ),
          ),
      };
    } catch (error) {
      lease.release();
      throw error;
    }
  };

  const resolve = async (sql: string, options: ResolveOptions = {}): Promise<ResolvedQuery> => {
    let entry = statements.get(sql);
    let parsed: ParsedStatement | undefined;
    if (entry === undefined) {
      parsed = await engine.withUtilityConnection((connection) => parseReferences(connection, sql));
      entry = { datasets: parsed.references.map(({ name, version }) => ({ name, version })) };
      statements.set(sql, entry);
    }
    const { caller } = options;
    if (caller !== undefined) {
      for (const mention of entry.datasets) requireDatasetGrant(caller, mention.name);
    }
    const unique = new Map<string, DatasetMention>();
    for (const mention of entry.datasets) unique.set(mentionKey(mention), mention);
    const bindings = await Promise.all(
      [...unique.values()].map((mention) => bind(mention, options)),
    );
    try {
      return await bindFiles(sql, entry, parsed, bindings, options);
    } catch (error) {
      // A remembered snapshot may be stale: a fingerprint the caller expects
      // from a newer one, files expired since. Such an error counts only once
      // the catalog confirms the snapshot; otherwise resolve afresh.
      const optimistic = bindings.some((binding) => binding.confirmation !== undefined);
      if (optimistic && !(await confirmed(bindings).catch(() => false))) {
        return resolve(sql, { ...options, optimistic: false });
      }
      throw error;
    }
  };

  return { resolve };
}

/** What the catalog named for a dataset mention, and what identifies it. */
interface CatalogAnswer {
  readonly snapshot: Snapshot;
  /**
   * The dataset's creation and the snapshot's version, commit time, schema
   * fingerprint and file count: equal identities read the same files (a
   * snapshot never changes; a dataset dropped and created again under the
   * same name has another creation time).
   */
  readonly identity: string;
}

/** The snapshot the catalog names for a mention now. */
async function lookUp(
  catalog: CatalogClient,
  mention: DatasetMention,
  options: { signal?: AbortSignal | undefined; omitFiles?: boolean },
): Promise<CatalogAnswer> {
  const { dataset } = await catalog.getDataset(
    { name: mention.name, version: mention.version ?? 0n, omitFiles: options.omitFiles ?? false },
    { signal: options.signal },
  );
  const snapshot = dataset?.snapshot;
  if (snapshot === undefined) {
    throw serviceError(
      Code.NotFound,
      "DATASET_EMPTY",
      `dataset ${mention.name} has no snapshot yet`,
      { dataset: mention.name },
    );
  }
  const time = (stamp: Timestamp | undefined) => `${stamp?.seconds ?? 0n}.${stamp?.nanos ?? 0}`;
  const identity = [
    time(dataset?.createTime),
    snapshot.version,
    time(snapshot.commitTime),
    snapshot.schemaFingerprint,
    snapshot.fileCount,
  ].join("/");
  return { snapshot, identity };
}

/** {@link ResolvedQuery.current} for a set of bindings; never an unhandled rejection. */
function confirmed(bindings: readonly Binding[]): Promise<boolean> {
  const pending = bindings.flatMap((binding) =>
    binding.confirmation === undefined ? [] : [binding.confirmation],
  );
  if (pending.length === 0) return Promise.resolve(true);
  const current = Promise.all(pending).then((answers) => answers.every(Boolean));
  current.catch(() => undefined);
  return current;
}

/** The cached files of each binding, from one lease over all of them in order. */
function splitPaths(bindings: readonly Binding[], paths: readonly string[]): string[][] {
  let offset = 0;
  return bindings.map((binding) => {
    const count = binding.snapshot.files.length;
    offset += count;
    return paths.slice(offset - count, offset);
  });
}

/** Snapshots of more files than this are read as Parquet, and their files get no copies. */
const MAX_SEGMENTS_PER_SCAN = 256;

/** A part of a snapshot's scan, in file order: a run of cached Parquet files, or one file's copy. */
type ScanSegment = { readonly paths: readonly string[] } | { readonly table: string };

/** What one binding's scan reads: each file's columnar copy where one is made, else the file. */
function scanSegments(
  files: readonly { sha256: string }[],
  paths: readonly string[],
  copies: ColumnarCopies | undefined,
): ScanSegment[] {
  if (paths.length === 0) return [];
  if (copies === undefined || files.length > MAX_SEGMENTS_PER_SCAN) return [{ paths }];
  const segments: ScanSegment[] = [];
  let run: string[] = [];
  for (const [index, file] of files.entries()) {
    const table = copies.tableOf(file.sha256);
    if (table === undefined) {
      run.push(paths[index] ?? "");
      continue;
    }
    if (run.length > 0) segments.push({ paths: run });
    run = [];
    segments.push({ table });
  }
  if (run.length > 0) segments.push({ paths: run });
  return segments;
}

/**
 * What a rewrite depends on besides the text: what each binding scans, or for
 * one without files the columns of its empty scan (named by the fingerprint).
 */
function boundFilesKey(bindings: readonly Binding[], scans: readonly ScanSegment[][]): string {
  return JSON.stringify(
    bindings.map((binding, index) => {
      const segments = scans[index] ?? [];
      return [
        binding.key,
        segments.length > 0 ? segments : `empty:${binding.snapshot.schemaFingerprint}`,
      ];
    }),
  );
}

/** A parsed statement and the datasets it reads. */
interface ParsedStatement {
  readonly ast: JsonObject;
  readonly references: DatasetReference[];
}

/** Parses a statement and finds the datasets it reads (refusing what it may not do). */
async function parseReferences(
  connection: DuckDBConnection,
  sql: string,
): Promise<ParsedStatement> {
  const ast = await parseStatement(connection, sql);
  return { ast, references: findDatasetReferences(ast) };
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
 * The FROM item that reads a snapshot: its scan segments in file order, or
 * for a snapshot without files an empty relation with the snapshot's
 * columns. The files are read in a subquery so that only the snapshot's
 * columns show: `read_parquet` also offers virtual columns such as
 * `filename`, which would name the cache.
 */
function scanOf(snapshot: Snapshot, segments: readonly ScanSegment[]): string {
  if (segments.length > 0) {
    const selects = segments.map((segment) =>
      "table" in segment
        ? `SELECT * FROM ${segment.table}`
        : `SELECT * FROM read_parquet([${segment.paths.map(sqlString).join(", ")}])`,
    );
    return `(${selects.join(" UNION ALL ")}) AS ${sqlIdentifier("t")}`;
  }
  const columns = (snapshot.schema?.fields ?? []).map(
    (field) => `CAST(NULL AS ${field.type}) AS ${sqlIdentifier(field.name)}`,
  );
  return `(SELECT ${columns.length > 0 ? columns.join(", ") : "NULL AS empty"} LIMIT 0) AS ${sqlIdentifier("t")}`;
}
