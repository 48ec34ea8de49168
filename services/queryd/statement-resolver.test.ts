import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import type { DuckDBEngine } from "./duckdb-engine.js";
import { parseStatement, renderStatement, tableFragment } from "./sql-ast.js";
import { bindDatasetReferences, findDatasetReferences } from "./statement-resolver.js";
import { createSmallEngine } from "./testing/small-engine.js";

let root: string;
let engine: DuckDBEngine;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "queryd-resolver-"));
  engine = await createSmallEngine(root);
});

afterAll(async () => {
  await engine?.close();
  await rm(root, { recursive: true, force: true });
});

const parse = (sql: string) => engine.withUtilityConnection((c) => parseStatement(c, sql));

async function datasets(sql: string): Promise<[string, bigint | undefined][]> {
  return findDatasetReferences(await parse(sql)).map((r) => [r.name, r.version]);
}

async function refusal(work: Promise<unknown>): Promise<[Code, string]> {
  const error = await work.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => ConnectError.from(e),
  );
  return [error.code, errorReason(error)];
}

describe("findDatasetReferences", () => {
  it("finds table names in FROM, joins, set operations and subqueries", async () => {
    expect(await datasets("SELECT * FROM t")).toEqual([["t", undefined]]);
    expect(
      await datasets(
        "SELECT * FROM a JOIN b USING (k) LEFT JOIN c ON c.k = a.k WHERE a.x IN (SELECT x FROM d)",
      ),
    ).toEqual([
      ["a", undefined],
      ["b", undefined],
      ["c", undefined],
      ["d", undefined],
    ]);
    expect(await datasets("SELECT x FROM a UNION ALL SELECT x FROM (SELECT x FROM b) sub")).toEqual(
      [
        ["a", undefined],
        ["b", undefined],
      ],
    );
  });

  it("reads a pinned version from AT (VERSION => n), after an alias", async () => {
    expect(
      await datasets("SELECT s.x FROM sales AS s AT (VERSION => 3) JOIN sales t ON true"),
    ).toEqual([
      ["sales", 3n],
      ["sales", undefined],
    ]);
  });

  it("does not mistake CTE names for datasets, with DuckDB's scoping", async () => {
    expect(
      await datasets("WITH c AS (SELECT * FROM t) SELECT * FROM c JOIN c AS c2 ON true"),
    ).toEqual([["t", undefined]]);
    expect(
      await datasets(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
      ),
    ).toEqual([]);
    // A non-recursive CTE that names itself reads the dataset of that name.
    expect(await datasets("WITH t AS (SELECT * FROM t WHERE x > 1) SELECT * FROM t")).toEqual([
      ["t", undefined],
    ]);
    // An earlier CTE cannot see a later one; a CTE inside a subquery ends with it.
    expect(await datasets("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a")).toEqual([
      ["b", undefined],
    ]);
    expect(await datasets("SELECT * FROM (WITH c AS (SELECT 1) SELECT * FROM c) x, c")).toEqual([
      ["c", undefined],
    ]);
    expect(await datasets("WITH C AS (SELECT 1) SELECT * FROM c")).toEqual([]);
  });

  it("names datasets in lower case however written, and refuses names that are not dataset names", async () => {
    expect(await datasets('SELECT * FROM "Sales_2024" JOIN SALES_2024 USING (k)')).toEqual([
      ["sales_2024", undefined],
      ["sales_2024", undefined],
    ]);
    expect(await refusal(datasets('SELECT * FROM "my table"'))).toEqual([
      Code.InvalidArgument,
      "INVALID_DATASET_NAME",
    ]);
    expect(await refusal(datasets("SELECT * FROM main.t"))).toEqual([
      Code.InvalidArgument,
      "QUALIFIED_NAME",
    ]);
  });

  it("refuses AT clauses that are not a literal version of 1 or more", async () => {
    for (const clause of ["VERSION => 0", "VERSION => 1 + 1", "TIMESTAMP => now()"]) {
      expect(await refusal(datasets(`SELECT * FROM t AT (${clause})`))).toEqual([
        Code.InvalidArgument,
        "INVALID_VERSION",
      ]);
    }
  });

  it("allows generator table functions, still checking their arguments", async () => {
    expect(await datasets("SELECT * FROM range(10) r JOIN t ON t.id = r.range")).toEqual([
      ["t", undefined],
    ]);
    expect(await datasets("SELECT * FROM generate_series(1, 3), unnest([1, 2])")).toEqual([]);
    expect(
      await datasets("SELECT * FROM unnest((SELECT list(x) FROM t AT (VERSION => 2)))"),
    ).toEqual([["t", 2n]]);
    expect(await refusal(datasets("SELECT * FROM range(length(getenv('HOME')))"))).toEqual([
      Code.PermissionDenied,
      "FUNCTION_NOT_ALLOWED",
    ]);
  });

  it("refuses table functions, file paths and denied functions anywhere in the statement", async () => {
    expect(await refusal(datasets("SELECT * FROM t WHERE x IN (SELECT * FROM glob('*'))"))).toEqual(
      [Code.PermissionDenied, "TABLE_FUNCTION_NOT_ALLOWED"],
    );
    expect(await refusal(datasets("SELECT * FROM 'data.parquet'"))).toEqual([
      Code.PermissionDenied,
      "FILE_ACCESS_NOT_ALLOWED",
    ]);
    expect(await refusal(datasets("SELECT upper(current_setting('temp_directory'))"))).toEqual([
      Code.PermissionDenied,
      "FUNCTION_NOT_ALLOWED",
    ]);
    expect(await refusal(datasets("SELECT 1 FROM t ORDER BY getenv('HOME')"))).toEqual([
      Code.PermissionDenied,
      "FUNCTION_NOT_ALLOWED",
    ]);
  });
});

describe("parseStatement", () => {
  it("refuses more than one statement and statements that are not queries", async () => {
    expect(await refusal(parse("SELECT 1; SELECT 2"))).toEqual([
      Code.InvalidArgument,
      "MULTIPLE_STATEMENTS",
    ]);
    expect(await refusal(parse("CREATE TABLE x (a INT)"))).toEqual([
      Code.InvalidArgument,
      "NOT_A_QUERY",
    ]);
    const pivot = await parse("PIVOT sales ON region USING sum(amount)").catch((e) =>
      ConnectError.from(e),
    );
    expect(pivot).toMatchObject({ code: Code.InvalidArgument });
    expect((pivot as ConnectError).rawMessage).toContain("a PIVOT needs its values listed here");
    expect(await refusal(parse("SELEC 1"))).toEqual([Code.InvalidArgument, "SYNTAX_ERROR"]);
    expect(await refusal(parse("  "))).toEqual([Code.InvalidArgument, "EMPTY_STATEMENT"]);
    expect(await refusal(parse("/* hi */ SET threads = 1"))).toEqual([
      Code.PermissionDenied,
      "STATEMENT_NOT_ALLOWED",
    ]);
  });

  it("accepts a trailing semicolon", async () => {
    expect(findDatasetReferences(await parse("SELECT 1 FROM t;"))).toHaveLength(1);
  });
});

describe("bindDatasetReferences", () => {
  it("replaces each dataset by its scan, keeping aliases, column aliases and 64-bit literals", async () => {
    const ast = await parse(
      "SELECT s.a, 9007199254740993 AS big FROM sales AS s(a, b) JOIN items ON items.k = s.b",
    );
    const references = findDatasetReferences(ast);
    const sql = await engine.withUtilityConnection(async (c) => {
      const scan = await tableFragment(c, "read_parquet(['/data/x.parquet']) AS t");
      bindDatasetReferences(references, () => scan);
      return renderStatement(c, ast);
    });
    expect(sql).toContain("read_parquet(main.list_value('/data/x.parquet')) AS s(a, b)");
    expect(sql).toContain("read_parquet(main.list_value('/data/x.parquet')) AS items");
    expect(sql).toContain("9007199254740993");
    expect(sql).not.toMatch(/\bsales\b/);
  });
});
