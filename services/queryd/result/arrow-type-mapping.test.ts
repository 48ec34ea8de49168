import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrowColumn, duckdbColumn, encodeQuery } from "./result-test-support.js";

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  await connection.run("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'ünïcødé')");
  await connection.run("CREATE TYPE wide AS ENUM (SELECT 'v' || i FROM range(300) t(i))");
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

/** One column `v` of type `type` over these SQL literals, a NULL always among them. */
function valuesOf(type: string, literals: string[]): string {
  const rows = [...literals, "NULL"].map((literal) => `(${literal})`).join(", ");
  return `SELECT v::${type} AS v FROM (VALUES ${rows}) t(v)`;
}

interface TypeCase {
  duckdb: string;
  arrow: string;
  sql: string;
  /** Extra expectations on the Arrow values, beyond equality with DuckDB's. */
  expected?: unknown[];
}

const cases: TypeCase[] = [
  { duckdb: "BOOLEAN", arrow: "Bool", sql: valuesOf("BOOLEAN", ["true", "false"]) },
  { duckdb: "TINYINT", arrow: "Int8", sql: valuesOf("TINYINT", ["-128", "127", "0"]) },
  { duckdb: "SMALLINT", arrow: "Int16", sql: valuesOf("SMALLINT", ["-32768", "32767"]) },
  { duckdb: "INTEGER", arrow: "Int32", sql: valuesOf("INTEGER", ["-2147483648", "2147483647"]) },
  {
    duckdb: "BIGINT",
    arrow: "Int64",
    sql: valuesOf("BIGINT", ["-9223372036854775808", "9223372036854775807"]),
    expected: [-9223372036854775808n, 9223372036854775807n, null],
  },
  { duckdb: "UTINYINT", arrow: "Uint8", sql: valuesOf("UTINYINT", ["0", "255"]) },
  { duckdb: "USMALLINT", arrow: "Uint16", sql: valuesOf("USMALLINT", ["0", "65535"]) },
  { duckdb: "UINTEGER", arrow: "Uint32", sql: valuesOf("UINTEGER", ["0", "4294967295"]) },
  {
    duckdb: "UBIGINT",
    arrow: "Uint64",
    sql: valuesOf("UBIGINT", ["0", "18446744073709551615"]),
    expected: [0n, 18446744073709551615n, null],
  },
  {
    duckdb: "HUGEINT",
    arrow: "Utf8",
    sql: valuesOf("HUGEINT", [
      "'-170141183460469231731687303715884105728'",
      "'170141183460469231731687303715884105727'",
    ]),
    expected: [
      "-170141183460469231731687303715884105728",
      "170141183460469231731687303715884105727",
      null,
    ],
  },
  {
    duckdb: "UHUGEINT",
    arrow: "Utf8",
    sql: valuesOf("UHUGEINT", ["'0'", "'340282366920938463463374607431768211455'"]),
    expected: ["0", "340282366920938463463374607431768211455", null],
  },
  {
    duckdb: "DECIMAL(4,1)",
    arrow: "Decimal[4e+1]",
    sql: valuesOf("DECIMAL(4,1)", ["-999.9", "999.9", "-0.1"]),
    expected: [-9999n, 9999n, -1n, null],
  },
  {
    duckdb: "DECIMAL(9,3)",
    arrow: "Decimal[9e+3]",
    sql: valuesOf("DECIMAL(9,3)", ["-999999.999", "999999.999", "-0.001"]),
    expected: [-999999999n, 999999999n, -1n, null],
  },
  {
    duckdb: "DECIMAL(18,6)",
    arrow: "Decimal[18e+6]",
    sql: valuesOf("DECIMAL(18,6)", ["-999999999999.999999", "999999999999.999999", "-0.000001"]),
    expected: [-999999999999999999n, 999999999999999999n, -1n, null],
  },
  {
    duckdb: "DECIMAL(38,10)",
    arrow: "Decimal[38e+10]",
    sql: valuesOf("DECIMAL(38,10)", [
      "'-9999999999999999999999999999.9999999999'",
      "'9999999999999999999999999999.9999999999'",
      "'-0.0000000001'",
    ]),
    expected: [-(10n ** 38n - 1n), 10n ** 38n - 1n, -1n, null],
  },
  {
    duckdb: "FLOAT",
    arrow: "Float32",
    sql: valuesOf("FLOAT", ["'nan'", "'inf'", "'-inf'", "'-1.5'", "'3.4028235e38'"]),
    expected: [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1.5,
      3.4028234663852886e38,
      null,
    ],
  },
  {
    duckdb: "DOUBLE",
    arrow: "Float64",
    sql: valuesOf("DOUBLE", [
      "'nan'",
      "'inf'",
      "'-inf'",
      "'-0.1'",
      "'1.7976931348623157e308'",
      "'5e-324'",
    ]),
    expected: [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0.1,
      Number.MAX_VALUE,
      5e-324,
      null,
    ],
  },
  {
    duckdb: "VARCHAR",
    arrow: "Utf8",
    sql: valuesOf("VARCHAR", ["''", "'héllo 世界 🦆'", "repeat('long ', 40)", "'12chars-long'"]),
    expected: ["", "héllo 世界 🦆", "long ".repeat(40), "12chars-long", null],
  },
  {
    duckdb: "BLOB",
    arrow: "Binary",
    sql: valuesOf("BLOB", ["'\\x00\\x01\\x00'::BLOB", "''::BLOB", "repeat('\\xFF', 20)::BLOB"]),
    expected: [[0, 1, 0], [], Array(20).fill(255), null],
  },
  {
    duckdb: "DATE",
    arrow: "Date32<DAY>",
    sql: valuesOf("DATE", [
      "'1969-12-31'",
      "'1970-01-01'",
      "'0001-01-01'",
      "'0044-03-15 (BC)'",
      "'9999-12-31'",
    ]),
    // 44 BC is astronomical year -43: JavaScript's proleptic Gregorian Date agrees.
    expected: [-1, 0, -719162, -735160, 2932896, null],
  },
  {
    duckdb: "TIME",
    arrow: "Time64<MICROSECOND>",
    sql: valuesOf("TIME", ["'00:00:00'", "'23:59:59.999999'"]),
    expected: [0n, 86399999999n, null],
  },
  {
    duckdb: "TIME_NS",
    arrow: "Time64<NANOSECOND>",
    sql: valuesOf("TIME_NS", ["'00:00:00'", "'23:59:59.123456789'"]),
    expected: [0n, 86399123456789n, null],
  },
  {
    duckdb: "TIME WITH TIME ZONE",
    arrow: "Utf8",
    sql: valuesOf("TIMETZ", ["'12:34:56+05:30'", "'00:00:00-02'"]),
    expected: ["12:34:56+05:30", "00:00:00-02", null],
  },
  {
    duckdb: "TIMESTAMP_S",
    arrow: "Timestamp<SECOND>",
    sql: valuesOf("TIMESTAMP_S", ["'1969-12-31 23:59:59'", "'2024-02-29 12:00:00'"]),
    expected: [-1n, 1709208000n, null],
  },
  {
    duckdb: "TIMESTAMP_MS",
    arrow: "Timestamp<MILLISECOND>",
    sql: valuesOf("TIMESTAMP_MS", ["'1969-12-31 23:59:59.999'", "'2024-02-29 12:00:00.001'"]),
    expected: [-1n, 1709208000001n, null],
  },
  {
    duckdb: "TIMESTAMP",
    arrow: "Timestamp<MICROSECOND>",
    sql: valuesOf("TIMESTAMP", ["'1900-01-01 00:00:00.000001'", "'2262-04-11 23:47:16.854775'"]),
    expected: [-2208988799999999n, 9223372036854775n, null],
  },
  {
    duckdb: "TIMESTAMP_NS",
    arrow: "Timestamp<NANOSECOND>",
    sql: valuesOf("TIMESTAMP_NS", [
      "'1969-12-31 23:59:59.999999999'",
      "'2024-02-29 12:00:00.000000001'",
    ]),
    expected: [-1n, 1709208000000000001n, null],
  },
  {
    duckdb: "TIMESTAMP WITH TIME ZONE",
    arrow: "Timestamp<MICROSECOND, UTC>",
    sql: valuesOf("TIMESTAMPTZ", ["'2024-02-29 12:00:00+02'", "'1960-01-01 00:00:00+00'"]),
    expected: [1709200800000000n, -315619200000000n, null],
  },
  {
    duckdb: "INTERVAL",
    arrow: "Interval<MONTH_DAY_NANO>",
    sql: valuesOf("INTERVAL", [
      "INTERVAL '1 year 2 months 3 days 04:05:06.789012'",
      "INTERVAL '-1 month -1 day -1 microsecond'",
    ]),
    expected: [[14, 3, 14706789012000n], [-1, -1, -1000n], null],
  },
  {
    duckdb: "UUID",
    arrow: "Utf8",
    sql: valuesOf("UUID", [
      "'00000000-0000-0000-0000-000000000000'",
      "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
      "'123e4567-e89b-12d3-a456-426614174000'",
    ]),
    expected: [
      "00000000-0000-0000-0000-000000000000",
      "ffffffff-ffff-ffff-ffff-ffffffffffff",
      "123e4567-e89b-12d3-a456-426614174000",
      null,
    ],
  },
  {
    duckdb: "ENUM (up to 255 values)",
    arrow: "Dictionary<Int16, Utf8>",
    sql: valuesOf("mood", ["'happy'", "'sad'", "'ünïcødé'", "'happy'"]),
    expected: ["happy", "sad", "ünïcødé", "happy", null],
  },
  {
    duckdb: "ENUM (over 255 values)",
    arrow: "Dictionary<Int32, Utf8>",
    sql: valuesOf("wide", ["'v0'", "'v299'", "'v256'"]),
    expected: ["v0", "v299", "v256", null],
  },
  {
    duckdb: "LIST of STRUCT",
    arrow: "List<Struct<{a:Int32, b:Utf8}>>",
    sql: valuesOf("STRUCT(a INTEGER, b VARCHAR)[]", [
      "[{'a': 1, 'b': 'x'}, NULL, {'a': NULL, 'b': NULL}]",
      "[]",
      "[NULL]",
      "[{'a': -1, 'b': 'a longer string than twelve'}]",
    ]),
    expected: [
      [{ a: 1n, b: "x" }, null, { a: null, b: null }],
      [],
      [null],
      [{ a: -1n, b: "a longer string than twelve" }],
      null,
    ],
  },
  {
    duckdb: "LIST of LIST",
    arrow: "List<List<Int64>>",
    sql: valuesOf("BIGINT[][]", ["[[1, NULL], NULL, []]", "[]", "[[9223372036854775807]]"]),
    expected: [[[1n, null], null, []], [], [[9223372036854775807n]], null],
  },
  {
    duckdb: "MAP",
    arrow: "Map<{key:Utf8, value:Int32}>",
    sql: valuesOf("MAP(VARCHAR, INTEGER)", ["MAP {'a': 1, 'b': NULL}", "MAP {}", "MAP {'ü': -5}"]),
    expected: [
      [
        ["a", 1n],
        ["b", null],
      ],
      [],
      [["ü", -5n]],
      null,
    ],
  },
  {
    duckdb: "ARRAY",
    arrow: "FixedSizeList[3]<Int32>",
    sql: valuesOf("INTEGER[3]", ["[1, NULL, 3]", "[-2147483648, 0, 2147483647]"]),
    expected: [[1n, null, 3n], [-2147483648n, 0n, 2147483647n], null],
  },
  {
    duckdb: "STRUCT with nested children",
    arrow: "Struct<{x:List<Int32>, y:Struct<{z:Utf8}>, e:Dictionary<Int16, Utf8>}>",
    sql: valuesOf("STRUCT(x INTEGER[], y STRUCT(z VARCHAR), e mood)", [
      "{'x': [1, 2], 'y': {'z': NULL}, 'e': 'ok'}",
      "{'x': NULL, 'y': NULL, 'e': NULL}",
    ]),
    expected: [{ x: [1n, 2n], y: { z: null }, e: "ok" }, { x: null, y: null, e: null }, null],
  },
  {
    duckdb: "UNION",
    arrow: "Utf8",
    sql: valuesOf("UNION(num INTEGER, str VARCHAR)", [
      "union_value(num := 2)::UNION(num INTEGER, str VARCHAR)",
      "union_value(str := 'a')::UNION(num INTEGER, str VARCHAR)",
    ]),
    expected: ['{"num":2}', '{"str":"a"}', null],
  },
  {
    duckdb: "BIT",
    arrow: "Utf8",
    sql: valuesOf("BIT", ["'0101'", "'1'", "'000000000000000000001'"]),
    expected: ["0101", "1", "000000000000000000001", null],
  },
  {
    duckdb: "BIGNUM",
    arrow: "Utf8",
    sql: valuesOf("BIGNUM", ["'-123456789012345678901234567890123456789012345'", "'0'"]),
    expected: ["-123456789012345678901234567890123456789012345", "0", null],
  },
  { duckdb: "GEOMETRY", arrow: "Binary", sql: valuesOf("GEOMETRY", ["'POINT(1 2)'"]) },
  {
    duckdb: "VARIANT",
    arrow: "Utf8",
    sql: valuesOf("VARIANT", ["42::VARIANT", "'text'::VARIANT"]),
    expected: ["42", '"text"', null],
  },
];

describe("DuckDB → Arrow type mapping", () => {
  it.each(cases)("$duckdb becomes Arrow $arrow with DuckDB's own values", async (typeCase) => {
    const query = await encodeQuery(connection, typeCase.sql);
    expect(String(query.table.schema.fields[0]?.type)).toBe(typeCase.arrow);
    expect(query.table.schema.fields[0]?.nullable).toBe(true);
    const arrowValues = arrowColumn(query.table, 0);
    expect(arrowValues).toHaveLength(query.duckdbRows.length);
    expect(arrowValues).toEqual(duckdbColumn(query, 0));
    expect(arrowValues.at(-1)).toBeNull();
    if (typeCase.expected) expect(arrowValues).toEqual(typeCase.expected);
  });

  it("reads a zero-row result as an empty table with the full schema", async () => {
    const query = await encodeQuery(connection, "SELECT 1::INTEGER AS a, 'x' AS b WHERE false");
    expect(query.batchRowCounts).toEqual([]);
    expect(query.table.numRows).toBe(0);
    expect(query.table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      "a:Int32",
      "b:Utf8",
    ]);
  });

  it("keeps columns of many types side by side in one batch", async () => {
    const query = await encodeQuery(
      connection,
      `SELECT i::TINYINT AS t, i::DECIMAL(9,2) / 3 AS d, 'text' || i AS s, [i, NULL] AS l,
              CASE WHEN i % 2 = 0 THEN NULL ELSE {'k': i} END AS st
       FROM range(5) r(i)`,
    );
    for (let column = 0; column < 5; column++) {
      expect(arrowColumn(query.table, column)).toEqual(duckdbColumn(query, column));
    }
  });
});
