import type { DuckDBDataChunk, DuckDBType } from "@duckdb/node-api";
import { jsonObject, jsonValueFor } from "./json-value.js";

/** Encodes result rows as JSON object texts for `ResultBatch.json_rows`. */
export interface JsonRowEncoder {
  /** One JSON object text per row of the first `rows` rows of `chunk` (all by default). */
  encode(chunk: DuckDBDataChunk, rows?: number): string[];
}

/**
 * Creates the JSON rows encoder for a result with these column names and
 * DuckDB types. Each value is converted by its column's DuckDB type (see
 * `jsonValueFor`); SQL NULL is `null` at every level.
 */
export function createJsonRowEncoder(
  columnNames: readonly string[],
  columnTypes: readonly DuckDBType[],
): JsonRowEncoder {
  return {
    encode(chunk, rows = chunk.rowCount) {
      const count = Math.min(rows, chunk.rowCount);
      const columns = columnTypes.map((_, i) => chunk.getColumnVector(i));
      const out: string[] = new Array(Math.max(0, count));
      for (let row = 0; row < count; row++) {
        const object = jsonObject();
        columnTypes.forEach((type, i) => {
          object[columnNames[i] ?? `column${i}`] = jsonValueFor(
            columns[i]?.getItem(row) ?? null,
            type,
          );
        });
        out[row] = JSON.stringify(object);
      }
      return out;
    },
  };
}
