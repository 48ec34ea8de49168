import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqlString } from "../kit/sql-text.js";
import type { DuckDBEngine } from "./duckdb-engine.js";
import { parseStatement, renderStatement, tableFragment } from "./sql-ast.js";
import { bindDatasetReferences, findDatasetReferences } from "./statement-resolver.js";
import { createSmallEngine } from "./testing/small-engine.js";

let root: string;
let engine: DuckDBEngine;
/** An unrestricted DuckDB holding a real table `sales`: the names users expect. */
let reference: DuckDBInstance;
let plain: DuckDBConnection;
let parquet: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "queryd-names-"));
  const cacheDirectory = join(root, "cache");
  await mkdir(join(cacheDirectory, "query-cache", "3e"), { recursive: true });
  parquet = join(cacheDirectory, "query-cache", "3e", "3e66.parquet");
  reference = await DuckDBInstance.create(":memory:");
  plain = await reference.connect();
  await plain.run("CREATE TABLE sales AS SELECT 1 AS x, 2 AS y");
  await plain.run(`COPY sales TO ${sqlString(parquet)} (FORMAT parquet)`);
  engine = await createSmallEngine(root);
});

afterAll(async () => {
  await engine?.close();
  plain?.closeSync();
  reference?.closeSync();
  await rm(root, { recursive: true, force: true });
});

/** Rewrites `sql` as queryd does (every dataset read from the cached file) and runs it. */
async function rewrittenNames(sql: string): Promise<{ sql: string; names: string[] }> {
  return engine.withUtilityConnection(async (c) => {
    const ast = await parseStatement(c, sql);
    const scan = await tableFragment(c, `read_parquet([${sqlString(parquet)}]) AS t`);
    bindDatasetReferences(findDatasetReferences(ast), () => scan);
    const rewritten = await renderStatement(c, ast);
    const reader = await c.runAndReadAll(rewritten);
    return { sql: rewritten, names: reader.columnNames() };
  });
}

async function expectedNames(sql: string): Promise<string[]> {
  return (await plain.runAndReadAll(sql)).columnNames();
}

describe("pinColumnNames", () => {
  it.each([
    "SELECT EXISTS (SELECT 1 FROM sales)",
    "SELECT (SELECT max(x) FROM sales)",
    "SELECT x IN (SELECT y FROM sales), x + (SELECT max(y) FROM sales), x, y AS named FROM sales",
    "SELECT count(*) FILTER (WHERE x NOT IN (SELECT y FROM sales)), (SELECT 1) FROM sales",
    "SELECT (SELECT (SELECT max(x) FROM sales) FROM sales s2)",
    `SELECT (SELECT 'a"b' FROM sales), (SELECT "x" FROM sales)`,
    "SELECT * FROM (SELECT (SELECT max(x) FROM sales))",
    "WITH c AS (SELECT EXISTS (SELECT 1 FROM sales)) SELECT * FROM c",
    'SELECT "(SELECT max(x) FROM sales)" FROM (SELECT (SELECT max(x) FROM sales))',
    "SELECT (SELECT max(x) FROM sales) UNION ALL SELECT (SELECT min(y) FROM sales)",
    "SELECT 1 AS a UNION ALL BY NAME SELECT (SELECT max(x) FROM sales)",
  ])("names the columns of %s as DuckDB names them, without the cache path", async (sql) => {
    const rewritten = await rewrittenNames(sql);
    const scans = rewritten.sql.split("read_parquet(").length - 1;
    expect(scans).toBe(sql.split(/FROM sales\b(?!\)")/).length - 1);
    expect(rewritten.names).toEqual(await expectedNames(sql));
    expect(rewritten.names.join("\n")).not.toContain("query-cache");
  });

  it("derives the names from the statement as written, AT clauses included", async () => {
    const { names } = await rewrittenNames(
      "SELECT (SELECT max(x) FROM sales AT (VERSION => 1)), EXISTS (SELECT 1 FROM sales)",
    );
    expect(names).toEqual([
      "(SELECT max(x) FROM sales AT (VERSION => 1))",
      "EXISTS(SELECT 1 FROM sales)",
    ]);
  });

  it("leaves expressions without a table, and aliased ones, unaliased in the parsed statement", async () => {
    const ast = await engine.withUtilityConnection((c) =>
      parseStatement(c, "SELECT 1 + 1, (SELECT 2), (SELECT 3 FROM sales) AS three"),
    );
    const statement = (ast.statements as { node: { select_list: { alias: string }[] } }[])[0];
    expect(statement?.node.select_list.map((e) => e.alias)).toEqual(["", "", "three"]);
  });
});
