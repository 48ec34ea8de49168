import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { duckdbKeywords, resultColumns } from "./result-columns.js";

let instance: DuckDBInstance;
let connection: Awaited<ReturnType<DuckDBInstance["connect"]>>;

beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  connection = await instance.connect();
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

/**
 * The result columns queryd sends for `SELECT <expressions>`, and the
 * column_type DuckDB's DESCRIBE gives for each, in the same order.
 */
async function renderedAndDescribed(expressions: readonly string[]) {
  const select = `SELECT ${expressions.map((e, i) => `${e} AS c${i}`).join(", ")}`;
  const result = await connection.run(select);
  const columns = resultColumns(result.columnNames(), result.columnTypes());
  const described = (await connection.runAndReadAll(`DESCRIBE ${select}`)).getRowObjectsJS();
  return {
    rendered: columns.map((column) => column.type),
    described: described.map((row) => String(row.column_type)),
  };
}

const structName = (name: string) => `struct_pack("${name.replaceAll('"', '""')}" := 1)`;

describe("result column types", () => {
  it("quote a struct's field names only where DESCRIBE does", async () => {
    const { rendered, described } = await renderedAndDescribed([
      `{'a': 1, 'B': 2, 'my col': 3, 'select': 4, 'x"y': 5}`,
    ]);
    expect(rendered).toEqual([
      `STRUCT(a INTEGER, B INTEGER, "my col" INTEGER, "select" INTEGER, "x""y" INTEGER)`,
    ]);
    expect(rendered).toEqual(described);
  });

  it("equal DESCRIBE's column_type for nested, parameterised and aliased types", async () => {
    const { rendered, described } = await renderedAndDescribed([
      "[{'a': [1]}]",
      "MAP {'k': {'z': 1}}",
      "MAP {row(1): [{'Q': 1.5::DECIMAL(4,1)}]}",
      "{'x': {'y': {'Z Z': 1, 'order': 'a'::ENUM('a', 'b''c', 'Select')}}}",
      "{'e': 'a'::ENUM('a', 'b c'), 'select': [1, 2]::INTEGER[2], 'm': MAP {1: [{'Q': 1}]}}",
      "union_value(num := 2)",
      `union_value(a1 := 2)::UNION(a1 INTEGER, _b VARCHAR, "x y" INTEGER, "Name" DATE)`,
      "row(1, 'a')",
      "[row(1)]",
      "'{}'::JSON",
      "['{}'::JSON]",
      "{'j': '{}'::JSON, 'k': [[1.5::DECIMAL(38,10)]]}",
      "[[1, 2]::INTEGER[2]]::INTEGER[2][]",
      "{'é': 1, '9': 2, 'a1': 3, '_x': 4, 'aB': 5, 'a.b': 6, 'a-b': 7, 'x$': 8, 'UNION': 9}",
      "1.5::DECIMAL(18,3)",
      "'a'::ENUM('a', 'b''c')",
      "1::TINYINT",
      "1::UHUGEINT",
      "1::HUGEINT",
      "'1'::BIGNUM",
      "'101'::BIT",
      "uuid()",
      "'x'::BLOB",
      "INTERVAL 1 DAY",
      "'2020-01-01'::DATE",
      "'12:00'::TIME",
      "'12:00'::TIME_NS",
      "'1:00'::TIMETZ",
      "'2020-01-01'::TIMESTAMP",
      "'2020-01-01'::TIMESTAMP_S",
      "'2020-01-01'::TIMESTAMP_MS",
      "'2020-01-01'::TIMESTAMP_NS",
      "'2020-01-01'::TIMESTAMPTZ",
      "1.5::FLOAT",
      "true",
    ]);
    expect(rendered).toEqual(described);
  });

  it("quote every DuckDB keyword used as a field name, in any letter case, and nothing else", async () => {
    const keywords = (await connection.runAndReadAll("SELECT keyword_name FROM duckdb_keywords()"))
      .getRows()
      .map((row) => String(row[0]));
    expect([...duckdbKeywords].sort()).toEqual([...keywords].sort());
    const functions = (
      await connection.runAndReadAll(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE regexp_matches(function_name, '^[a-z_][a-z0-9_]*$')",
      )
    )
      .getRows()
      .map((row) => String(row[0]));
    const names = [...keywords, ...keywords.map((k) => k.toUpperCase()), ...functions];
    for (let start = 0; start < names.length; start += 400) {
      const { rendered, described } = await renderedAndDescribed(
        names.slice(start, start + 400).map(structName),
      );
      expect(rendered).toEqual(described);
    }
  });
});
