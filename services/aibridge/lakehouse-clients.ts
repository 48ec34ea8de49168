import type { Client } from "@connectrpc/connect";
import type { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import {
  LimitBehavior,
  type QueryParameter,
  type QueryService,
  type ReadReceipt,
  ResultFormat,
} from "../../gen/lakehouse/query/v1/query_pb.js";
import type { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";

/** The data services aibridge reads and writes datasets through. */
export interface LakehouseClients {
  readonly catalog: Client<typeof CatalogService>;
  readonly storage: Client<typeof StorageService>;
  readonly query: Client<typeof QueryService>;
}

/** A statement for {@link forEachJsonRow}. */
export interface JsonQuery {
  readonly sql: string;
  readonly parameters?: QueryParameter[];
  /** Return at most this many rows, cutting the rest; unset, a result over queryd's limits fails. */
  readonly maxRows?: bigint;
}

/**
 * Runs a statement through queryd as JSON rows, handing each row to `each` as
 * it arrives (nothing is held), and resolves with the receipts. A result over
 * queryd's limits fails rather than arriving cut short.
 */
export async function forEachJsonRow(
  query: LakehouseClients["query"],
  statement: JsonQuery,
  signal: AbortSignal,
  each: (row: Record<string, unknown>, text: string) => void | Promise<void>,
): Promise<ReadReceipt[]> {
  let receipts: ReadReceipt[] = [];
  const stream = query.executeQuery(
    {
      sql: statement.sql,
      parameters: statement.parameters ?? [],
      format: ResultFormat.JSON,
      maxRows: statement.maxRows ?? 0n,
      onLimit: statement.maxRows === undefined ? LimitBehavior.FAIL : LimitBehavior.TRUNCATE,
    },
    { signal },
  );
  for await (const response of stream) {
    const payload = response.payload;
    if (payload.case === "header") receipts = payload.value.receipts;
    if (payload.case !== "batch") continue;
    for (const text of payload.value.jsonRows) {
      await each(JSON.parse(text) as Record<string, unknown>, text);
    }
  }
  return receipts;
}
