import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { DuckDBPreparedStatement } from "@duckdb/node-api";
import {
  type WriteQueryResultRequest,
  type WriteQueryResultResponse,
  WriteQueryResultResponseSchema,
} from "../../gen/lakehouse/query/v1/query_pb.js";
import { canonicalDatasetName } from "../catalogd/dataset-name.js";
import { requireDatasetGrant } from "../kit/identity/dataset-grants.js";
import { parquetExactStatement } from "../kit/parquet-exact-columns.js";
import { sqlString } from "../kit/sql-text.js";
import { dataPrefix } from "../kit/storage-layout.js";
import { putObject, type StorageClient } from "../storaged/client.js";
import { duckdbCall } from "./duckdb-errors.js";
import type { FileCache } from "./file-cache.js";
import { bindParameters } from "./query-parameters.js";
import type { CatalogClient, StatementDeps } from "./query-resolution.js";
import { openQuerySession } from "./query-session.js";

/** What WriteQueryResult needs beyond resolving: storage to upload the result to. */
export interface WriteQueryResultDeps extends StatementDeps {
  readonly storage: StorageClient;
  readonly catalog: CatalogClient;
  readonly cache: FileCache;
}

/**
 * WriteQueryResult: runs the query into a Parquet file (the engine's own COPY
 * into the cache's staging directory, the one place DuckDB may write), uploads
 * it where ingest puts data files (`datasets/<name>/data/<uuid>.parquet`) and
 * commits it as the dataset's next snapshot. Columns Parquet would change are
 * made exact or refused first ({@link parquetExactStatement}). A file no snapshot can reference
 * (the commit was refused, or replayed for a repeated idempotency key) is
 * deleted again.
 */
export async function writeQueryResult(
  deps: WriteQueryResultDeps,
  request: WriteQueryResultRequest,
  context: HandlerContext,
): Promise<WriteQueryResultResponse> {
  const { signal } = context;
  const dataset = canonicalDatasetName(request.dataset);
  const caller = deps.callerOf?.(context);
  if (caller !== undefined) requireDatasetGrant(caller, dataset);
  const resolved = await deps.resolver.resolve(request.sql, { signal, caller });
  const localPath = path.join(deps.cache.stagingDirectory, `${randomUUID()}.parquet`);
  try {
    const rowCount = await copyToParquet(deps, resolved.sql, request, localPath, signal);
    resolved.release();
    const key = `${dataPrefix(dataset)}${randomUUID()}.parquet`;
    await putObject(deps.storage, key, createReadStream(localPath), {
      contentType: "application/vnd.apache.parquet",
      expectedSha256: await fileSha256(localPath),
      ifNoneMatch: true,
      signal,
    });
    // The uploaded file is deleted again only when no snapshot can reference
    // it: a replayed commit, or a definite refusal. After an unknown outcome
    // (timeout, lost connection) it stays, since the commit may have landed.
    let unused = true;
    try {
      if (request.createIfMissing) await createDataset(deps, dataset, signal);
      const committed = await deps.catalog.commitSnapshot(
        {
          dataset,
          addFiles: [key],
          replaceAll: request.replaceAll,
          idempotencyKey: request.idempotencyKey,
          message: request.message,
        },
        { signal },
      );
      unused = committed.replayed;
      return create(WriteQueryResultResponseSchema, {
        snapshot: committed.snapshot,
        receipts: [...resolved.receipts],
        rowCount,
      });
    } catch (error) {
      unused = DEFINITE_REFUSALS.has(ConnectError.from(error).code);
      throw error;
    } finally {
      if (unused) await deps.storage.deleteObject({ key }).catch(() => undefined);
    }
  } finally {
    resolved.release();
    await rm(localPath, { force: true });
  }
}

/** Codes with which the catalog refuses a commit without having written anything. */
const DEFINITE_REFUSALS = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.FailedPrecondition,
  Code.Aborted,
  Code.Unauthenticated,
]);

async function copyToParquet(
  deps: StatementDeps,
  sql: string,
  request: WriteQueryResultRequest,
  localPath: string,
  signal: AbortSignal,
): Promise<bigint> {
  let statement: DuckDBPreparedStatement | undefined;
  let finished = false;
  const session = await openQuerySession(deps.engine, signal);
  try {
    const rows = await duckdbCall(async () => {
      const query = await session.connection.prepare(sql);
      let exact: string;
      try {
        const columns = Array.from({ length: query.columnCount }, (_, i) => i);
        exact = parquetExactStatement(
          sql,
          columns.map((i) => query.columnName(i)),
          columns.map((i) => query.columnType(i)),
          "UNSUPPORTED_RESULT_TYPE",
        );
      } finally {
        query.destroySync();
      }
      statement = await session.connection.prepare(
        `COPY (${exact}) TO ${sqlString(localPath)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      bindParameters(statement, request.parameters);
      const reader = await statement.runAndReadAll();
      return reader.getRows()[0]?.[0];
    }, signal);
    finished = true;
    return typeof rows === "bigint" ? rows : BigInt(Number(rows ?? 0));
  } finally {
    statement?.destroySync();
    session.close(!finished);
  }
}

async function createDataset(
  deps: WriteQueryResultDeps,
  name: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    await deps.catalog.createDataset({ name }, { signal });
  } catch (error) {
    if (ConnectError.from(error).code !== Code.AlreadyExists) throw error;
  }
}

async function fileSha256(filePath: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
