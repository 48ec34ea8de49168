import { DuckDBInstance } from "@duckdb/node-api";
import type { Table } from "apache-arrow";
import { createArrowResultEncoder } from "../../services/queryd/result/index.js";
import {
  type Canonical,
  canonicalFromArrow,
  canonicalFromDuckDB,
} from "../../services/queryd/result/result-test-support.js";

/** What in-process DuckDB answers for a query over local files: the reference. */
export interface ReferenceAnswer {
  /** Rows in canonical form, for exact comparison with an Arrow table. */
  rows: Canonical[][];
  /** The Arrow field types DuckDB's column types map to, as text. */
  arrowTypes: string[];
  columnNames: string[];
}

/** Runs SQL on a fresh in-process DuckDB, with no lock-down: the reference answer. */
export async function duckdbReference(sql: string): Promise<ReferenceAnswer> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    const types = reader.columnTypes();
    const columnNames = reader.columnNames();
    const rows = reader
      .getRows()
      .map((row) => row.map((value, j) => canonicalFromDuckDB(value, types[j]!)));
    const schema = createArrowResultEncoder(columnNames, types).schema;
    return { rows, arrowTypes: schema.fields.map((f) => String(f.type)), columnNames };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The rows of an Arrow table in canonical form, read from the raw buffers. */
export function canonicalRows(table: Table): Canonical[][] {
  const rows: Canonical[][] = [];
  for (const batch of table.batches) {
    for (let i = 0; i < batch.numRows; i++) {
      rows.push(batch.data.children.map((column) => canonicalFromArrow(column, i)));
    }
  }
  return rows;
}
