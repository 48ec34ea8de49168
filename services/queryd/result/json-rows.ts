import type { DuckDBDataChunk, DuckDBType } from "@duckdb/node-api";
import { createJsonObjectWriter } from "./json-value.js";

/** Encodes result rows as JSON object texts for `ResultBatch.json_rows`. */
export interface JsonRowEncoder {
  /** One JSON object text per row of the first `rows` rows of `chunk` (all by default). */
  encode(chunk: DuckDBDataChunk, rows?: number): string[];
}

/**
 * Creates the JSON rows encoder for a result with these column names and
 * DuckDB types. Each value is written by its column's DuckDB type (see
 * `jsonWriterFor`); SQL NULL is `null` at every level. Every column is one
 * member, in column order, even when names repeat or look like integers.
 */
export function createJsonRowEncoder(
  columnNames: readonly string[],
  columnTypes: readonly DuckDBType[],
): JsonRowEncoder {
  const writeRow = createJsonObjectWriter(
    columnTypes.map((_, i) => columnNames[i] ?? `column${i}`),
    columnTypes,
  );
  return {
    encode(chunk, rows = chunk.rowCount) {
      const count = Math.max(0, Math.min(rows, chunk.rowCount));
      const columns = columnTypes.map((_, i) => chunk.getColumnVector(i));
      const out: string[] = new Array(count);
      for (let row = 0; row < count; row++) {
        out[row] = writeRow((i) => columns[i]?.getItem(row) ?? null);
      }
      return out;
    },
  };
}
