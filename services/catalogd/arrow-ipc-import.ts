import { open } from "node:fs/promises";
import { type DuckDBConnection, DuckDBDataChunk, type DuckDBValue } from "@duckdb/node-api";
import { type Data, RecordBatchReader } from "apache-arrow";
import { sqlIdentifier } from "../kit/sql-text.js";
import { arrowColumnConversion } from "./arrow-duckdb-conversion.js";

/**
 * Rows per appended DuckDB data chunk (DuckDB's vector size). Appending whole column
 * vectors is many times faster than appending value by value, above all for nested values.
 */
const CHUNK_ROWS = 2048;

/**
 * Loads an Arrow IPC file or stream into a new DuckDB table named `table`, so
 * DuckDB can then write it as Parquet (DuckDB's own arrow extension is not available
 * offline). Each column's DuckDB type comes from the explicit table in
 * `arrow-duckdb-conversion.ts`, nested types included. Batches are read one at a time
 * from the file, never the whole file at once, and appended in chunks of `CHUNK_ROWS`.
 * The caller drops the table, also when this fails.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason UNSUPPORTED_ARROW_TYPE, for a column type
 *   outside the supported table, or UNREPRESENTABLE_ARROW_VALUE for a value its DuckDB
 *   type cannot hold exactly; errors of apache-arrow (unreadable input) propagate as is.
 */
export async function importArrowIpc(
  connection: DuckDBConnection,
  path: string,
  table: string,
): Promise<void> {
  const handle = await open(path, "r");
  try {
    const reader = await RecordBatchReader.from(handle);
    await reader.open();
    const fields = reader.schema.fields;
    const conversions = fields.map(arrowColumnConversion);
    const types = conversions.map((c) => c.type);
    const columns = fields.map((f, i) => `${sqlIdentifier(f.name)} ${conversions[i]?.type}`);
    await connection.run(`CREATE TABLE ${table} (${columns.join(", ")})`);
    const appender = await connection.createAppender(table);
    try {
      for await (const batch of reader) {
        const columnData = batch.data.children as Data[];
        for (let start = 0; start < batch.numRows; start += CHUNK_ROWS) {
          const rows = Math.min(CHUNK_ROWS, batch.numRows - start);
          const chunk = DuckDBDataChunk.create(types, rows);
          conversions.forEach((conversion, j) => {
            const data = columnData[j] as Data;
            const values = new Array<DuckDBValue>(rows);
            for (let row = 0; row < rows; row++) values[row] = conversion.read(data, start + row);
            chunk.setColumnValues(j, values);
          });
          appender.appendDataChunk(chunk);
        }
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  } finally {
    await handle.close();
  }
}
