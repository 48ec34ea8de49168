import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type Client,
  type ConnectRouter,
  createClient,
  createRouterTransport,
} from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type Table, tableFromIPC } from "apache-arrow";
import { z } from "zod";
import {
  type ExecuteQueryRequestSchema,
  type QueryHeader,
  QueryService,
  type QuerySummary,
} from "../../../gen/lakehouse/query/v1/query_pb.js";
import {
  type CatalogFixture,
  startCatalogFixture,
} from "../../catalogd/testing/catalog-fixture.js";
import { createLogger } from "../../kit/logger.js";
import { createServiceServer, registration, serverSettings } from "../../kit/server.js";
import { putObject } from "../../storaged/client.js";
import { type ColumnarCopies, createColumnarCopies } from "../columnar-copies.js";
import { createDuckDBEngine, type DuckDBEngine } from "../duckdb-engine.js";
import type { ResultLimits } from "../execute-query.js";
import { createFileCache, type FileCache } from "../file-cache.js";
import { createQueryService } from "../query-service.js";

/** Options of {@link startQueryFixture}. */
export interface QueryFixtureOptions {
  readonly poolSize?: number;
  readonly maxQueued?: number;
  readonly limits?: Partial<ResultLimits>;
  readonly cacheMaxBytes?: number;
  /**
   * Keeps columnar copies of files read twice, as queryd does by default, of
   * files of at least this many bytes; none when absent.
   */
  readonly columnarCopyMinBytes?: number;
}

/** A whole query result read from the stream. */
export interface CollectedResult {
  readonly header: QueryHeader;
  readonly summary: QuerySummary;
  /** Every batch message in order. */
  readonly batchRowCounts: number[];
  readonly jsonRows: string[];
  /** The concatenated `arrow_ipc` fields. */
  readonly ipc: Uint8Array;
  /** The Arrow table the stream decodes to (Arrow format). */
  table(): Table;
}

/** The query service over the real catalog and storage services, all in memory, for tests. */
export interface QueryFixture {
  readonly catalogFixture: CatalogFixture;
  /** The service through an in-memory router transport. */
  readonly query: Client<typeof QueryService>;
  /** The same service behind a real HTTP/2 server on a free port, through gRPC. */
  readonly queryOverNetwork: Client<typeof QueryService>;
  readonly engine: DuckDBEngine;
  readonly cache: FileCache;
  /** The columnar copies, when the fixture keeps them. */
  readonly copies?: ColumnarCopies;
  readonly cacheDirectory: string;
  /** Writes `select` to Parquet with a separate DuckDB, commits it to `dataset`; returns the local file. */
  ingest(dataset: string, select: string): Promise<string>;
  /** Runs a statement on the fixture's own unrestricted DuckDB (the reference answer). */
  reference(sql: string): Promise<unknown[][]>;
  /** Runs ExecuteQuery and collects the stream. */
  collect(
    request: MessageInitShape<typeof ExecuteQueryRequestSchema>,
    options?: { timeoutMs?: number; signal?: AbortSignal; client?: Client<typeof QueryService> },
  ): Promise<CollectedResult>;
  close(): Promise<void>;
}

let files = 0;

/** Starts storaged + catalogd (real implementations) and queryd on a temp directory. */
export async function startQueryFixture(options: QueryFixtureOptions = {}): Promise<QueryFixture> {
  const catalogFixture = await startCatalogFixture();
  const root = await mkdtemp(join(tmpdir(), "queryd-test-"));
  const cacheDirectory = join(root, "cache");
  const cacheMaxBytes = options.cacheMaxBytes ?? 1024 ** 3;
  const engine = await createDuckDBEngine({
    cacheDirectory,
    tempDirectory: join(root, "spill"),
    memoryLimit: "512MB",
    threads: 2,
    maxTempDirectorySize: "1GB",
    poolSize: options.poolSize ?? 2,
    maxQueued: options.maxQueued ?? 8,
  });
  const cache = await createFileCache({
    directory: cacheDirectory,
    maxBytes: cacheMaxBytes,
    storage: catalogFixture.storage,
  });
  const copies =
    options.columnarCopyMinBytes === undefined
      ? undefined
      : createColumnarCopies({
          engine,
          cache,
          cacheMaxBytes,
          minCopyBytes: options.columnarCopyMinBytes,
        });
  const service = createQueryService({
    catalog: catalogFixture.catalog,
    storage: catalogFixture.storage,
    engine,
    cache,
    ...(copies === undefined ? {} : { copies }),
    limits: {
      maxResultRows: 1_000_000,
      maxResultBytes: 64 * 1024 ** 2,
      batchRows: 65_536,
      stalledReaderTimeoutMs: 60_000,
      ...options.limits,
    },
  });
  const query = createClient(
    QueryService,
    createRouterTransport((router: ConnectRouter) => router.service(QueryService, service)),
  );
  const server = createServiceServer({
    services: [registration(QueryService, service)],
    settings: z.object(serverSettings("127.0.0.1:0")).parse({}),
    logger: createLogger({ level: "error" }),
  });
  const url = await server.start();
  const queryOverNetwork = createClient(
    QueryService,
    createGrpcTransport({ baseUrl: url.origin, acceptCompression: [] }),
  );
  return {
    catalogFixture,
    query,
    queryOverNetwork,
    engine,
    cache,
    ...(copies === undefined ? {} : { copies }),
    cacheDirectory,
    async ingest(dataset, select) {
      const path = join(catalogFixture.workDirectory, `fixture-${process.pid}-${++files}.parquet`);
      await catalogFixture.duckdb.withConnection((c) =>
        c.run(`COPY (${select}) TO '${path}' (FORMAT parquet)`),
      );
      const key = `uploads/${dataset}-${files}.parquet`;
      await putObject(catalogFixture.storage, key, await readFile(path));
      await catalogFixture.catalog.ingestObject({ dataset, sourceKey: key, createIfMissing: true });
      return path;
    },
    async reference(sql) {
      return catalogFixture.duckdb.withConnection(async (c) =>
        (await c.runAndReadAll(sql)).getRows(),
      );
    },
    async collect(request, callOptions = {}) {
      let header: QueryHeader | undefined;
      let summary: QuerySummary | undefined;
      const parts: Uint8Array[] = [];
      const batchRowCounts: number[] = [];
      const jsonRows: string[] = [];
      const { client = query, ...rest } = callOptions;
      for await (const response of client.executeQuery(request, rest)) {
        const payload = response.payload;
        if (payload.case === "header") {
          header = payload.value;
          parts.push(payload.value.arrowIpc);
        } else if (payload.case === "batch") {
          batchRowCounts.push(Number(payload.value.rowCount));
          jsonRows.push(...payload.value.jsonRows);
          parts.push(payload.value.arrowIpc);
        } else if (payload.case === "summary") {
          summary = payload.value;
          parts.push(payload.value.arrowIpc);
        }
      }
      if (header === undefined || summary === undefined)
        throw new Error("stream without header or summary");
      const ipc = Buffer.concat(parts);
      return { header, summary, batchRowCounts, jsonRows, ipc, table: () => tableFromIPC(ipc) };
    },
    async close() {
      await server.shutdown();
      await engine.close();
      await catalogFixture.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
