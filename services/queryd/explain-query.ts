import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { DuckDBPreparedStatement } from "@duckdb/node-api";
import {
  type ExplainQueryRequest,
  type ExplainQueryResponse,
  ExplainQueryResponseSchema,
} from "../../gen/lakehouse/query/v1/query_pb.js";
import { duckdbCall } from "./duckdb-errors.js";
import { bindParameters } from "./query-parameters.js";
import type { StatementDeps } from "./query-resolution.js";
import { openQuerySession } from "./query-session.js";
import { resultColumns } from "./result-columns.js";

/**
 * ExplainQuery: resolves the statement exactly as ExecuteQuery would (same
 * refusals, same snapshots) and returns DuckDB's physical plan and result
 * columns, from preparing the statement, without running it.
 */
export async function explainQuery(
  deps: StatementDeps,
  request: ExplainQueryRequest,
  context: HandlerContext,
): Promise<ExplainQueryResponse> {
  const { signal } = context;
  const resolved = await deps.resolver.resolve(request.sql, {
    signal,
    caller: deps.callerOf?.(context),
  });
  const statements: DuckDBPreparedStatement[] = [];
  let finished = false;
  const session = await openQuerySession(deps.engine, signal).catch((error: unknown) => {
    resolved.release();
    throw error;
  });
  try {
    const response = await duckdbCall(async () => {
      const query = await session.connection.prepare(resolved.sql);
      statements.push(query);
      bindParameters(query, request.parameters);
      const columnCount = query.columnCount;
      const names = Array.from({ length: columnCount }, (_, index) => query.columnName(index));
      const types = Array.from({ length: columnCount }, (_, index) => query.columnType(index));
      const explain = await session.connection.prepare(`EXPLAIN ${resolved.sql}`);
      statements.push(explain);
      bindParameters(explain, request.parameters);
      const reader = await explain.runAndReadAll();
      const plan = reader
        .getRows()
        .map((row) => String(row[1] ?? ""))
        .join("\n");
      return create(ExplainQueryResponseSchema, {
        plan,
        receipts: [...resolved.receipts],
        columns: resultColumns(names, types),
      });
    }, signal);
    finished = true;
    return response;
  } finally {
    for (const statement of statements) statement.destroySync();
    session.close(!finished);
    resolved.release();
  }
}
