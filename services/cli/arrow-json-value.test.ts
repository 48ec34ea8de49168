import { DuckDBInstance } from "@duckdb/node-api";
import { RecordBatchReader } from "apache-arrow";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "../queryd/result/json-value.js";
import { encodeQuery } from "../queryd/result/result-test-support.js";
import { batchRows } from "./arrow-json-value.js";
import { cellText } from "./cell-text.js";

async function* chunks(messages: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const message of messages) yield message;
}

/** Decodes queryd's Arrow messages the way the CLI does, row by row, in JSON form. */
async function decodedRows(messages: Uint8Array[]): Promise<JsonValue[][]> {
  const reader = await RecordBatchReader.from(chunks(messages));
  const rows: JsonValue[][] = [];
  for await (const batch of reader) for (const row of batchRows(batch)) rows.push(row);
  return rows;
}

describe("arrowJsonValue", () => {
  it("renders every DuckDB type exactly as queryd's JSON rows do", async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      const encoded = await encodeQuery(connection, "SELECT * FROM test_all_types()");
      const expected = encoded.jsonRows.map((row) => Object.values(JSON.parse(row)));
      const decoded = await decodedRows(encoded.messages);
      expect(expected.length).toBe(3);
      // UNION travels in Arrow as the JSON text of `{tag: value}`, so only its cell text matches.
      const union = encoded.names.indexOf("union");
      const withoutUnion = (rows: unknown[][]) =>
        rows.map((row) => row.filter((_, i) => i !== union));
      expect(withoutUnion(decoded)).toEqual(withoutUnion(expected));
      const cells = (rows: unknown[][]) =>
        rows.map((row) => row.map((v) => cellText(v as JsonValue)));
      expect(cells(decoded)).toEqual(cells(expected));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
