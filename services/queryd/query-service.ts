import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import type { CallerIdentity } from "../kit/identity/caller-identity.js";
import type { Logger } from "../kit/logger.js";
import type { StorageClient } from "../storaged/client.js";
import type { ColumnarCopies } from "./columnar-copies.js";
import type { DuckDBEngine } from "./duckdb-engine.js";
import { executeQuery, type ResultLimits } from "./execute-query.js";
import { explainQuery } from "./explain-query.js";
import type { FileCache } from "./file-cache.js";
import { type CatalogClient, createQueryResolver } from "./query-resolution.js";
import { writeQueryResult } from "./write-query-result.js";

/** Everything the query service is built from; tests pass real ones. */
export interface QueryServiceDeps {
  readonly catalog: CatalogClient;
  readonly storage: StorageClient;
  readonly engine: DuckDBEngine;
  readonly cache: FileCache;
  /** Copies of hot files in DuckDB's format; scans read Parquet only when absent. */
  readonly copies?: ColumnarCopies;
  readonly limits: ResultLimits;
  /** Logs one line per query with its id; none when absent. */
  readonly logger?: Logger;
  /** The caller whose dataset grants statements must match; none when absent (tests). */
  readonly callerOf?: (context: HandlerContext) => CallerIdentity;
}

/**
 * The QueryService implementation: read-only SQL over catalog datasets,
 * resolved to snapshots through catalogd, files fetched from storaged into a
 * verified local cache, run by the locked-down DuckDB engine.
 */
export function createQueryService(services: QueryServiceDeps): ServiceImpl<typeof QueryService> {
  const deps = { ...services, resolver: createQueryResolver(services) };
  return {
    executeQuery: (request, context) => executeQuery(deps, request, context),
    explainQuery: (request, context) => explainQuery(deps, request, context),
    writeQueryResult: (request, context) => writeQueryResult(deps, request, context),
  };
}
