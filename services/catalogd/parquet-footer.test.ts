import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { type CatalogDuckDB, openCatalogDuckDB } from "./catalog-duckdb.js";
import { readParquetFooter } from "./parquet-footer.js";

let workDirectory: string;
let db: CatalogDuckDB;

beforeAll(async () => {
  workDirectory = await mkdtemp(join(tmpdir(), "catalogd-footer-"));
  db = await openCatalogDuckDB({ workDirectory });
});

afterAll(async () => {
  db.close();
  await rm(workDirectory, { recursive: true, force: true });
});

/** Writes `select` to a Parquet file in the work directory and returns its path. */
async function writeParquet(name: string, select: string, options = ""): Promise<string> {
  const path = join(workDirectory, name);
  await db.withConnection((c) => c.run(`COPY (${select}) TO '${path}' (FORMAT parquet${options})`));
  return path;
}

/** How many row groups a Parquet file has, as DuckDB reads its footer. */
async function rowGroupCount(path: string): Promise<number> {
  return db.withConnection(async (c) => {
    const reader = await c.runAndReadAll(
      `SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${path}')`,
    );
    return Number(reader.getRows()[0]![0]);
  });
}

describe("readParquetFooter", () => {
  it("reads DuckDB types, nullability and nested children", async () => {
    const path = await writeParquet(
      "nested.parquet",
      `SELECT 1::INTEGER AS id, 'a' AS name, 1.5::DECIMAL(18,3) AS d,
              {'a': 1::BIGINT, 'my col': ['x']} AS s, [1, 2] AS l, MAP {'k': 1} AS m,
              TIMESTAMPTZ '2024-01-01 00:00:00+00' AS ts`,
    );
    const footer = await readParquetFooter(db, path);
    const summary = (f: { name: string; type: string; nullable: boolean; children: unknown[] }) =>
      `${f.name}:${f.type}:${f.nullable}`;
    expect(footer.schema.fields.map(summary)).toEqual([
      "id:INTEGER:true",
      "name:VARCHAR:true",
      "d:DECIMAL(18,3):true",
      `s:STRUCT(a BIGINT, "my col" VARCHAR[]):true`,
      "l:INTEGER[]:true",
      "m:MAP(VARCHAR, INTEGER):true",
      "ts:TIMESTAMP WITH TIME ZONE:true",
    ]);
    const struct = footer.schema.fields[3]!;
    expect(struct.children.map(summary)).toEqual(["a:BIGINT:true", "my col:VARCHAR[]:true"]);
    expect(struct.children[1]!.children.map(summary)).toEqual(["element:VARCHAR:true"]);
    const map = footer.schema.fields[5]!;
    expect(map.children.map(summary)).toEqual(["key:VARCHAR:false", "value:INTEGER:true"]);
    expect(footer.rowCount).toBe(1n);
  });

  it("computes row count, min, max and null counts equal to DuckDB's over several row groups", async () => {
    const select = `SELECT i::BIGINT AS n, CASE WHEN i % 7 = 0 THEN NULL ELSE 'v' || i END AS s,
                           (i / 4)::DECIMAL(10,2) AS d, DATE '2020-01-01' + (i % 400)::INTEGER AS day,
                           i % 3 = 0 AS flag, CASE WHEN i < 4100 THEN NULL ELSE i * 0.5 END AS late
                    FROM range(5000) t(i)`;
    const path = await writeParquet("stats.parquet", select, ", ROW_GROUP_SIZE 2048");
    const footer = await readParquetFooter(db, path);
    expect(await rowGroupCount(path)).toBeGreaterThan(1);
    expect(footer.rowCount).toBe(5000n);
    const expected = await db.withConnection(async (c) => {
      const columns = ["n", "s", "d", "day", "flag", "late"];
      const parts = columns.map(
        (x) => `min(${x})::VARCHAR, max(${x})::VARCHAR, count(*) - count(${x})`,
      );
      const row = (
        await c.runAndReadAll(`SELECT ${parts.join(", ")} FROM (${select})`)
      ).getRows()[0]!;
      return columns.map((column, i) => ({
        column,
        min: row[3 * i],
        max: row[3 * i + 1],
        nullCount: row[3 * i + 2],
      }));
    });
    expect(
      footer.columnStats.map((s) => ({
        column: s.column,
        min: s.min,
        max: s.max,
        nullCount: s.nullCount,
      })),
    ).toEqual(expected);
  });

  it("reads min and max equal to DuckDB's own for each of 600 columns of several types", async () => {
    const kinds = [
      (i: number) => `((r * 7 + ${i}) % 1000)::BIGINT`,
      (i: number) => `'v' || ((r * 13 + ${i}) % 997)`,
      (i: number) => `(((r + ${i}) % 500) / 4)::DECIMAL(10,2)`,
      (i: number) => `DATE '2020-01-01' + ((r + ${i}) % 400)::INTEGER`,
      (i: number) => `(r - 1500 + ${i}) * 0.5`,
    ];
    const columns = Array.from({ length: 600 }, (_, i) => `c${i}`);
    const select = `SELECT ${columns.map((c, i) => `${kinds[i % kinds.length]!(i)} AS ${c}`).join(", ")}
                    FROM range(3000) t(r)`;
    const path = await writeParquet("wide.parquet", select, ", ROW_GROUP_SIZE 2048");
    const footer = await readParquetFooter(db, path);
    const expected = await db.withConnection(async (c) => {
      const parts = columns.map((x) => `min(${x})::VARCHAR, max(${x})::VARCHAR`);
      const row = (
        await c.runAndReadAll(`SELECT ${parts.join(", ")} FROM read_parquet('${path}')`)
      ).getRows()[0]!;
      return columns.map((column, i) => ({ column, min: row[2 * i], max: row[2 * i + 1] }));
    });
    expect(await rowGroupCount(path)).toBeGreaterThan(1);
    expect(footer.rowCount).toBe(3000n);
    expect(footer.columnStats.map((s) => ({ column: s.column, min: s.min, max: s.max }))).toEqual(
      expected,
    );
  });

  it("reads a text min and max holding NUL characters exactly", async () => {
    const path = await writeParquet(
      "nul.parquet",
      `SELECT * FROM (VALUES ('b'), ('a' || chr(0) || 'b'), ('z' || chr(0)), (NULL)) t(s)`,
    );
    const footer = await readParquetFooter(db, path);
    expect(footer.columnStats).toMatchObject([
      { column: "s", min: "a\u0000b", max: "z\u0000", nullCount: 1n },
    ]);
  });

  it("keeps names with quotes and spaces exactly as in the file", async () => {
    const path = await writeParquet(
      "names.parquet",
      `SELECT {'we"ird': 1} AS "odd col", 2 AS "Ünï"`,
    );
    const footer = await readParquetFooter(db, path);
    expect(footer.schema.fields.map((f) => f.name)).toEqual(["odd col", "Ünï"]);
    expect(footer.schema.fields[0]?.type).toBe('STRUCT("we""ird" INTEGER)');
    expect(footer.schema.fields[0]?.children.map((c) => c.name)).toEqual(['we"ird']);
    expect(footer.columnStats[1]).toMatchObject({
      column: "Ünï",
      min: "2",
      max: "2",
      nullCount: 0n,
    });
  });

  it("leaves statistics of nested columns unknown", async () => {
    const path = await writeParquet("list.parquet", "SELECT [1, 2] AS l");
    const footer = await readParquetFooter(db, path);
    expect(footer.columnStats).toMatchObject([{ column: "l", min: "", max: "", nullCount: -1n }]);
  });

  it("refuses a nested field without a name (a UNION column as DuckDB writes it) as UNNAMED_FIELD", async () => {
    const path = await writeParquet(
      "union.parquet",
      "SELECT range AS id, {'inner': union_value(num := range)} AS u FROM range(3)",
    );
    const error = await readParquetFooter(db, path).catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe("UNNAMED_FIELD");
    expect((error as ConnectError).rawMessage).toContain('column "u"');
  });

  it("rejects a CSV file with INVALID_ARGUMENT reason NOT_PARQUET", async () => {
    const path = join(workDirectory, "data.csv");
    await writeFile(path, "a,b\n1,2\n3,4\n5,6\n");
    const error = await readParquetFooter(db, path).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe("NOT_PARQUET");
  });

  it("rejects a file with Parquet magic but a broken footer as NOT_PARQUET", async () => {
    const path = join(workDirectory, "broken.parquet");
    await writeFile(
      path,
      Buffer.concat([Buffer.from("PAR1"), Buffer.alloc(64, 7), Buffer.from("PAR1")]),
    );
    const error = await readParquetFooter(db, path).catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe("NOT_PARQUET");
  });
});
