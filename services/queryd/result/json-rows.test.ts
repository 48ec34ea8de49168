import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJsonRowEncoder } from "./json-rows.js";

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

async function jsonRows(sql: string): Promise<string[]> {
  const result = await connection.stream(sql);
  const encoder = createJsonRowEncoder(result.columnNames(), result.columnTypes());
  const rows: string[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    rows.push(...encoder.encode(chunk));
  }
  return rows;
}

describe("JSON rows", () => {
  it("writes integers up to 32 bits as numbers and wider ones as strings", async () => {
    const rows = await jsonRows(
      `SELECT (-128)::TINYINT AS t, 4294967295::UINTEGER AS u, (-9223372036854775808)::BIGINT AS b,
              18446744073709551615::UBIGINT AS ub, '-170141183460469231731687303715884105728'::HUGEINT AS h,
              '340282366920938463463374607431768211455'::UHUGEINT AS uh, NULL::BIGINT AS n`,
    );
    expect(rows).toEqual([
      '{"t":-128,"u":4294967295,"b":"-9223372036854775808","ub":"18446744073709551615",' +
        '"h":"-170141183460469231731687303715884105728","uh":"340282366920938463463374607431768211455","n":null}',
    ]);
  });

  it("writes decimals as exact strings and non-finite floats as strings", async () => {
    const rows = await jsonRows(
      `SELECT -999.9::DECIMAL(4,1) AS d4, -0.001::DECIMAL(9,3) AS d9, '-999999999999.999999'::DECIMAL(18,6) AS d18,
              '-9999999999999999999999999999.9999999999'::DECIMAL(38,10) AS d38,
              1.5::DOUBLE AS f, 'nan'::DOUBLE AS nan, '-inf'::FLOAT AS ninf, 0.1::FLOAT AS f32,
              '-0.0'::DOUBLE AS nz`,
    );
    expect(rows[0]).toContain('"f32":0.1,"nz":-0}');
    expect(JSON.parse(rows[0]!)).toEqual({
      d4: "-999.9",
      d9: "-0.001",
      d18: "-999999999999.999999",
      d38: "-9999999999999999999999999999.9999999999",
      f: 1.5,
      nan: "NaN",
      ninf: "-Infinity",
      f32: 0.1,
      nz: -0,
    });
  });

  it("writes text as is, BLOB as base64, UUID, ENUM and BIT as text", async () => {
    const rows = await jsonRows(
      `SELECT 'héllo 🦆' AS s, '' AS e, '\\x00\\xFF\\x00'::BLOB AS b,
              '123e4567-e89b-12d3-a456-426614174000'::UUID AS u, 'y'::ENUM('x', 'y') AS en, '0101'::BIT AS bit`,
    );
    expect(JSON.parse(rows[0]!)).toEqual({
      s: "héllo 🦆",
      e: "",
      b: "AP8A",
      u: "123e4567-e89b-12d3-a456-426614174000",
      en: "y",
      bit: "0101",
    });
  });

  it("writes dates, times and timestamps as ISO-8601 in each unit", async () => {
    const rows = await jsonRows(
      `SELECT '1969-12-31'::DATE AS d, '0044-03-15 (BC)'::DATE AS bc, 'infinity'::DATE AS inf,
              '23:59:59.5'::TIME AS t, '00:00:00.000000001'::TIME_NS AS tn, '12:00:00+02'::TIMETZ AS tz,
              '1969-12-31 23:59:59'::TIMESTAMP_S AS ts_s, '2024-02-29 12:00:00.001'::TIMESTAMP_MS AS ts_ms,
              '1900-01-01 00:00:00.000001'::TIMESTAMP AS ts_us,
              '2024-02-29 12:00:00.000000001'::TIMESTAMP_NS AS ts_ns,
              '2024-02-29 12:00:00+02'::TIMESTAMPTZ AS ts_tz, '-infinity'::TIMESTAMP AS ninf`,
    );
    expect(JSON.parse(rows[0]!)).toEqual({
      d: "1969-12-31",
      bc: "-0043-03-15",
      inf: "infinity",
      t: "23:59:59.5",
      tn: "00:00:00.000000001",
      tz: "12:00:00+02",
      ts_s: "1969-12-31T23:59:59",
      ts_ms: "2024-02-29T12:00:00.001",
      ts_us: "1900-01-01T00:00:00.000001",
      ts_ns: "2024-02-29T12:00:00.000000001",
      ts_tz: "2024-02-29T10:00:00Z",
      ninf: "-infinity",
    });
  });

  it("writes intervals as months, days and microseconds", async () => {
    const rows = await jsonRows("SELECT INTERVAL '1 year 2 months 3 days 00:00:01.000002' AS i");
    expect(JSON.parse(rows[0]!)).toEqual({ i: { months: 14, days: 3, micros: "1000002" } });
  });

  it("writes nested types as nested JSON with NULL at every level", async () => {
    const rows = await jsonRows(
      `SELECT [{'a': 1::BIGINT, 'b': NULL}, NULL] AS l, MAP {'k': [1, NULL]} AS m, [1, NULL]::INTEGER[2] AS arr,
              {'x': {'y': NULL}} AS st, union_value(num := 2)::UNION(num INTEGER, s VARCHAR) AS u,
              NULL::INTEGER[] AS nl, 1 AS "__proto__"`,
    );
    expect(rows[0]).toBe(
      '{"l":[{"a":"1","b":null},null],"m":[{"key":"k","value":[1,null]}],"arr":[1,null],' +
        '"st":{"x":{"y":null}},"u":{"num":2},"nl":null,"__proto__":1}',
    );
  });

  it("writes every column once in column order, even repeated and integer-like names", async () => {
    const rows = await jsonRows(`SELECT 1 AS a, 2 AS a, 3 AS "0", 4 AS "__proto__", 5 AS a`);
    expect(rows).toEqual(['{"a":1,"a":2,"0":3,"__proto__":4,"a":5}']);
  });

  it("keeps both sides' columns of SELECT * over a self join", async () => {
    const rows = await jsonRows(
      `WITH t(id, v) AS (VALUES (1, 'x'), (2, 'y'))
       SELECT * FROM t a JOIN t b ON a.id + 1 = b.id`,
    );
    expect(rows).toEqual(['{"id":1,"v":"x","id":2,"v":"y"}']);
  });

  it("writes STRUCT fields in declared order, integer-like names included", async () => {
    const rows = await jsonRows(
      `SELECT {'b': 1, '1': 2, 'a': 3} AS s, [{'x': 'x', '9': NULL}] AS l,
              union_value("2" := {'z': 1, '0': 2})::UNION("2" STRUCT(z INTEGER, "0" INTEGER), s VARCHAR) AS u`,
    );
    expect(rows).toEqual([
      '{"s":{"b":1,"1":2,"a":3},"l":[{"x":"x","9":null}],"u":{"2":{"z":1,"0":2}}}',
    ]);
  });

  it("writes one object text per row across chunks", async () => {
    const rows = await jsonRows("SELECT i FROM range(5000) t(i)");
    expect(rows).toHaveLength(5000);
    expect(rows[4999]).toBe('{"i":"4999"}');
  });
});
