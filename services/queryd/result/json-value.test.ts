import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJsonObjectWriter, jsonTextFor, jsonValueFor } from "./json-value.js";

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  connection = await instance.connect();
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

async function firstValue(sql: string) {
  const reader = await connection.runAndReadAll(sql);
  return { value: reader.getRows()[0]?.[0] ?? null, type: reader.columnTypes()[0]! };
}

describe("JSON values", () => {
  it("writes a STRUCT's fields as text in declared order", async () => {
    const { value, type } = await firstValue(
      `SELECT {'b': 1::BIGINT, '1': MAP {'k': 2}, 'a': NULL} AS s`,
    );
    expect(jsonTextFor(value, type)).toBe('{"b":"1","1":[{"key":"k","value":2}],"a":null}');
  });

  it("parses to the same value for callers that want JavaScript values", async () => {
    const { value, type } = await firstValue(
      `SELECT {'n': 18446744073709551615::UBIGINT, 'f': 'inf'::DOUBLE, 'i': INTERVAL '1 day'} AS s`,
    );
    expect(jsonValueFor(value, type)).toEqual({
      n: "18446744073709551615",
      f: "Infinity",
      i: { months: 0, days: 1, micros: "0" },
    });
  });

  it("writes NULL as null at the top level", async () => {
    const { value, type } = await firstValue("SELECT NULL::STRUCT(a INTEGER)");
    expect(jsonTextFor(value, type)).toBe("null");
  });

  it("writes objects with repeated member names once per position", async () => {
    const { type } = await firstValue("SELECT 1::INTEGER");
    const write = createJsonObjectWriter(["x", "x", "7"], [type, type, type]);
    expect(write((i) => i * 10)).toBe('{"x":0,"x":10,"7":20}');
    expect(createJsonObjectWriter([], [])(() => null)).toBe("{}");
  });
});
