import { readFileSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlString } from "../../services/kit/sql-text.js";
import { putObject } from "../../services/storaged/client.js";
import type { gatewayClients } from "./gateway-clients.js";

/**
 * The SELECT that generates `rows` sales rows with a realistic mix of types:
 * BIGINT id, VARCHAR category (50 values), DOUBLE price, INTEGER qty, DATE
 * day, TIMESTAMP ts and DECIMAL(18,2) amount. Values come from hashes of the
 * row number, so they are deterministic yet compress like real data, not
 * like a counter.
 */
export function salesRowsSql(rows: number): string {
  return `
    SELECT i::BIGINT AS id,
           'category_' || lpad((hash(i) % 50)::VARCHAR, 2, '0') AS category,
           (hash(i, 1) % 1000000) / 100.0 AS price,
           (hash(i, 2) % 100)::INTEGER AS qty,
           DATE '2020-01-01' + (hash(i, 3) % 2000)::INTEGER AS day,
           TIMESTAMP '2020-01-01 00:00:00' + to_microseconds((hash(i, 4) % 173000000000000)::BIGINT) AS ts,
           ((hash(i, 5) % 10000000)::BIGINT / 100.0)::DECIMAL(18,2) AS amount
    FROM range(${rows}) r(i)`;
}

/** Writes {@link salesRowsSql} to a local Parquet file with in-process DuckDB. */
export async function writeSalesParquet(file: string, rows: number): Promise<void> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (${salesRowsSql(rows)}) TO ${sqlString(file)} (FORMAT parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Uploads a local file through the gateway and ingests it as a new snapshot
 * of `dataset` (created when missing), as a user would.
 */
export async function uploadAndIngest(
  clients: ReturnType<typeof gatewayClients>,
  file: string,
  dataset: string,
): Promise<void> {
  const key = `uploads/${dataset}-${Date.now()}.parquet`;
  await putObject(clients.storage, key, readFileSync(file));
  await clients.catalog.ingestObject({ dataset, sourceKey: key, createIfMissing: true });
}
