import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ColumnStatsSchema, FieldSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { type CatalogDuckDB, openCatalogDuckDB } from "./catalog-duckdb.js";
import { hasOrderedStats, mergeColumnStats } from "./column-stats.js";

let directory: string;
let db: CatalogDuckDB;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "catalogd-stats-"));
  db = await openCatalogDuckDB({ workDirectory: directory });
});

afterAll(async () => {
  db.close();
  await rm(directory, { recursive: true, force: true });
});

const stats = (column: string, min: string, max: string, nullCount: bigint) =>
  create(ColumnStatsSchema, { column, min, max, nullCount });

describe("mergeColumnStats", () => {
  it("compares values as their type, sums null counts and skips all-NULL parts", async () => {
    const fields = [
      create(FieldSchema, { name: "n", type: "BIGINT", nullable: true }),
      create(FieldSchema, { name: "d", type: "DECIMAL(10,2)", nullable: true }),
      create(FieldSchema, { name: "t", type: "VARCHAR", nullable: true }),
    ];
    const merged = await db.withConnection((c) =>
      mergeColumnStats(c, fields, [
        {
          rowCount: 3n,
          columnStats: [
            stats("n", "9", "9", 1n),
            stats("d", "9.50", "10.25", 0n),
            stats("t", "b", "c", 0n),
          ],
        },
        {
          rowCount: 2n,
          columnStats: [
            stats("n", "10", "100", 0n),
            stats("d", "-1.00", "2.00", 0n),
            stats("t", "", "", 2n),
          ],
        },
      ]),
    );
    expect(merged.map((s) => [s.column, s.min, s.max, s.nullCount])).toEqual([
      ["n", "9", "100", 1n],
      ["d", "-1.00", "10.25", 0n],
      ["t", "b", "c", 2n],
    ]);
  });

  it("makes min/max and null counts unknown when any part lacks them", async () => {
    const fields = [create(FieldSchema, { name: "n", type: "INTEGER", nullable: true })];
    const merged = await db.withConnection((c) =>
      mergeColumnStats(c, fields, [
        { rowCount: 3n, columnStats: [stats("n", "1", "2", 0n)] },
        { rowCount: 3n, columnStats: [stats("n", "", "", -1n)] },
      ]),
    );
    expect(merged.map((s) => [s.min, s.max, s.nullCount])).toEqual([["", "", -1n]]);
  });

  it("merges the min/max of 600 columns, each compared as its own type", async () => {
    const width = 600;
    const fields = Array.from({ length: width }, (_, i) =>
      create(FieldSchema, { name: `c${i}`, type: i % 2 === 0 ? "BIGINT" : "VARCHAR" }),
    );
    const part = (
      bigint: (i: number) => [string, string],
      text: (i: number) => [string, string],
    ) => ({
      rowCount: 2n,
      columnStats: fields.map((f, i) => {
        const [min, max] = i % 2 === 0 ? bigint(i) : text(i);
        return stats(f.name, min, max, 0n);
      }),
    });
    const merged = await db.withConnection((c) =>
      mergeColumnStats(c, fields, [
        part(
          (i) => [`${i + 10}`, `${i + 99}`],
          (i) => [`b${i}`, `y${i}`],
        ),
        part(
          (i) => [`${i + 9}`, `${i + 100}`],
          (i) => [`a${i}`, `z${i}`],
        ),
      ]),
    );
    expect(merged.map((s) => [s.column, s.min, s.max])).toEqual(
      fields.map((f, i) =>
        i % 2 === 0 ? [f.name, `${i + 9}`, `${i + 100}`] : [f.name, `a${i}`, `z${i}`],
      ),
    );
  });

  it("compares text holding NUL characters and quotes as it is", async () => {
    const fields = [create(FieldSchema, { name: "t", type: "VARCHAR", nullable: true })];
    const merged = await db.withConnection((c) =>
      mergeColumnStats(c, fields, [
        { rowCount: 2n, columnStats: [stats("t", "a\u0000b", "it's", 0n)] },
        { rowCount: 2n, columnStats: [stats("t", "a\u0000c", "z\u0000'", 0n)] },
      ]),
    );
    expect(merged.map((s) => [s.min, s.max])).toEqual([["a\u0000b", "z\u0000'"]]);
  });

  it("keeps min/max only for ordered scalar types", () => {
    expect(hasOrderedStats("TIMESTAMP WITH TIME ZONE")).toBe(true);
    expect(hasOrderedStats("DECIMAL(38,10)")).toBe(true);
    expect(hasOrderedStats("BIGINT[]")).toBe(false);
    expect(hasOrderedStats("BLOB")).toBe(false);
    expect(hasOrderedStats("STRUCT(a INTEGER)")).toBe(false);
  });
});
