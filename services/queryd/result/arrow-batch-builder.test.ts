import { type DuckDBConnection, DuckDBDataChunk, DuckDBInstance, SQLNULL } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createArrowResultEncoder } from "./arrow-result-encoder.js";
import { arrowColumn, type Canonical, encodeQuery } from "./result-test-support.js";

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  connection = await instance.connect();
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

const ROWS = 200_000;
const MANY_ROWS_SQL = `
  SELECT i::INTEGER AS a,
         CASE WHEN i % 7 = 0 THEN NULL ELSE i END AS b,
         CASE WHEN i % 5 = 0 THEN NULL ELSE 'row' || i END AS s,
         CASE WHEN i % 11 = 0 THEN NULL ELSE [i, NULL] END AS l,
         i % 3 = 0 AS flag
  FROM range(${ROWS}) t(i) ORDER BY i`;

function expectedColumns(): Canonical[][] {
  const a: Canonical[] = [];
  const b: Canonical[] = [];
  const s: Canonical[] = [];
  const l: Canonical[] = [];
  const flag: Canonical[] = [];
  for (let i = 0; i < ROWS; i++) {
    a.push(BigInt(i));
    b.push(i % 7 === 0 ? null : BigInt(i));
    s.push(i % 5 === 0 ? null : `row${i}`);
    l.push(i % 11 === 0 ? null : [BigInt(i), null]);
    flag.push(i % 3 === 0);
  }
  return [a, b, s, l, flag];
}

describe("Arrow batches across DuckDB chunks", () => {
  it("cuts 200k rows into batches of exactly batchRows, with validity at odd offsets intact", async () => {
    // 50,001 is odd, so every batch after the first starts mid-chunk and mid-byte of the bitmaps.
    const query = await encodeQuery(connection, MANY_ROWS_SQL, {
      batchRows: 50_001,
      batchBytes: Number.POSITIVE_INFINITY,
      keepDuckDBRows: false,
    });
    expect(query.batchRowCounts).toEqual([50_001, 50_001, 50_001, 49_997]);
    expect(query.table.batches.map((batch) => batch.numRows)).toEqual(query.batchRowCounts);
    expect(query.table.numRows).toBe(ROWS);
    const expected = expectedColumns();
    for (let column = 0; column < expected.length; column++) {
      expect(arrowColumn(query.table, column)).toEqual(expected[column]);
    }
    expect(query.table.getChild("b")?.nullCount).toBe(Math.ceil(ROWS / 7));
  });

  it("ends a batch early once its buffered bytes pass batchBytes", async () => {
    const query = await encodeQuery(connection, MANY_ROWS_SQL, {
      batchBytes: 16 * 1024,
      keepDuckDBRows: false,
    });
    expect(query.batchRowCounts.length).toBeGreaterThan(ROWS / 2048 - 1);
    expect(Math.max(...query.batchRowCounts)).toBeLessThanOrEqual(2048);
    expect(query.table.numRows).toBe(ROWS);
    expect(arrowColumn(query.table, 2)).toEqual(expectedColumns()[2]);
  });

  it("encodes only the first rows of a chunk when asked to stop at a row limit", async () => {
    const result = await connection.stream("SELECT i, 'v' || i AS s FROM range(100) t(i)");
    const encoder = createArrowResultEncoder(result.columnNames(), result.columnTypes());
    const chunk = await result.fetchChunk();
    const messages = [encoder.schemaMessage(), ...encoder.encode(chunk!, 7).map((m) => m.bytes)];
    messages.push(...encoder.flush().map((m) => m.bytes), encoder.endOfStream());
    const table = tableFromIPC(messages);
    expect(table.numRows).toBe(7);
    expect(arrowColumn(table, 1)).toEqual(["v0", "v1", "v2", "v3", "v4", "v5", "v6"]);
  });

  it("writes the SQL NULL type as an Arrow Null column of the right length", () => {
    const chunk = DuckDBDataChunk.create([SQLNULL], 3);
    const encoder = createArrowResultEncoder(["n"], [SQLNULL]);
    const messages = [encoder.schemaMessage(), ...encoder.encode(chunk).map((m) => m.bytes)];
    messages.push(...encoder.flush().map((m) => m.bytes), encoder.endOfStream());
    const table = tableFromIPC(messages);
    expect(String(table.schema.fields[0]?.type)).toBe("Null");
    expect(table.numRows).toBe(3);
    expect(arrowColumn(table, 0)).toEqual([null, null, null]);
  });

  it("reports the throughput of 3M rows of 3 numeric columns", async () => {
    const result = await connection.stream(
      "SELECT i AS a, i * 0.5::DOUBLE AS b, (i % 1000)::INTEGER AS c FROM range(3000000) t(i)",
    );
    const encoder = createArrowResultEncoder(result.columnNames(), result.columnTypes());
    const started = performance.now();
    let rows = 0;
    let bytes = encoder.schemaMessage().byteLength;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (const message of encoder.encode(chunk)) {
        rows += message.rowCount;
        bytes += message.bytes.byteLength;
      }
    }
    for (const message of encoder.flush()) {
      rows += message.rowCount;
      bytes += message.bytes.byteLength;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `Arrow encoding: ${rows} rows, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(2)} s ` +
        `= ${(rows / seconds / 1e6).toFixed(2)}M rows/s (DuckDB execution included)`,
    );
    expect(rows).toBe(3_000_000);
  });
});
