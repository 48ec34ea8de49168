import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { type QueryFixture, startQueryFixture } from "./testing/query-fixture.js";

let fx: QueryFixture;
let outside: string;
let cachedFile: string;

beforeAll(async () => {
  fx = await startQueryFixture({ poolSize: 1 });
  outside = await mkdtemp(join(tmpdir(), "queryd-escape-"));
  await fx.ingest("t", "SELECT 1 AS x");
  await fx.collect({ sql: "SELECT * FROM t" });
  const shard = (await readdir(fx.cacheDirectory)).find((name) => /^[0-9a-f]{2}$/.test(name)) ?? "";
  cachedFile = join(
    fx.cacheDirectory,
    shard,
    (await readdir(join(fx.cacheDirectory, shard)))[0] ?? "",
  );
});

afterAll(async () => {
  await fx?.close();
  await rm(outside, { recursive: true, force: true });
});

/** Statements that try to leave the sandbox, each with the files it would create. */
const corpus = (): [string, string[]][] => [
  ["SELECT * FROM read_csv('/etc/passwd')", []],
  ["SELECT * FROM read_csv_auto('/etc/passwd')", []],
  ["SELECT * FROM read_text('/etc/passwd')", []],
  ["SELECT * FROM read_blob('/etc/passwd')", []],
  ["SELECT * FROM glob('/tmp/*')", []],
  ["SELECT read_text('/etc/passwd')", []],
  [`COPY (SELECT 1) TO '${outside}/x.csv'`, [`${outside}/x.csv`]],
  [`COPY t TO '${outside}/t.csv'`, [`${outside}/t.csv`]],
  [`EXPORT DATABASE '${outside}/export'`, [`${outside}/export`]],
  [`ATTACH '${outside}/x.db'`, [`${outside}/x.db`]],
  [`ATTACH '${outside}/y.db' AS y; SELECT 1`, [`${outside}/y.db`]],
  ["INSTALL httpfs", []],
  ["FORCE INSTALL httpfs", []],
  ["LOAD httpfs", []],
  ["SET threads = 1", []],
  ["SET enable_external_access = true", []],
  ["RESET threads", []],
  ["PRAGMA version", []],
  ["CALL pragma_version()", []],
  ["CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", []],
  [`CREATE TABLE x AS SELECT 1`, []],
  ["SELECT getenv('HOME')", []],
  ["SELECT current_setting('temp_directory')", []],
  ["SELECT current_query() AS q FROM t", []],
  ["SELECT pg_catalog.current_query() AS q FROM t", []],
  ["SELECT getvariable('x') AS v FROM t", []],
  ["SELECT * FROM duckdb_secrets()", []],
  ["SELECT * FROM duckdb_settings()", []],
  ["SELECT * FROM query('SELECT 1')", []],
  ["SELECT * FROM 'https://example.com/x.parquet'", []],
  ["SELECT * FROM 's3://b/x.parquet'", []],
  ["SELECT * FROM '/etc/passwd'", []],
  ['SELECT * FROM "/etc/passwd"', []],
  [`SELECT * FROM '${cachedFile}'`, []],
  [`SELECT * FROM read_parquet('${cachedFile}')`, []],
  [`SELECT * FROM parquet_metadata('${cachedFile}')`, []],
  ["SELECT * FROM t, (SELECT * FROM read_csv('/etc/passwd'))", []],
  ["WITH x AS (SELECT * FROM read_json('/etc/passwd')) SELECT * FROM x", []],
  ["SELECT 1; SELECT * FROM read_text('/etc/passwd')", []],
  ["DESCRIBE '/etc/passwd'", []],
  ["SHOW TABLES", []],
];

describe("the sandbox", () => {
  it("refuses every escape attempt with PERMISSION_DENIED or INVALID_ARGUMENT and creates no file", async () => {
    expect(cachedFile).toMatch(/[0-9a-f]{64}\.parquet$/);
    expect(existsSync(cachedFile)).toBe(true);
    for (const [sql, files] of corpus()) {
      const error = await fx.collect({ sql }).then(
        () => new Error(`${sql} was accepted`),
        (e: unknown) => ConnectError.from(e),
      );
      expect(error, sql).toBeInstanceOf(ConnectError);
      expect([Code.PermissionDenied, Code.InvalidArgument], `${sql}: ${error.message}`).toContain(
        (error as ConnectError).code,
      );
      for (const file of files) expect(existsSync(file), file).toBe(false);
    }
    expect(await readdir(outside)).toEqual([]);
  });

  it("refuses functions that reveal the rewritten statement or session state, wherever they hide", async () => {
    for (const sql of [
      "SELECT current_query() AS q FROM t",
      "SELECT CURRENT_QUERY() AS q FROM t",
      "SELECT pg_catalog.current_query() AS q FROM t",
      "WITH w AS (SELECT x, current_query() AS q FROM t) SELECT q FROM w",
      "SELECT x FROM t WHERE length(current_query()) > 0",
      "SELECT getvariable('x') AS v FROM t",
    ]) {
      const error = await fx.collect({ sql }).then(
        (result) => new Error(`${sql} answered ${JSON.stringify(result.table().toArray())}`),
        (e: unknown) => ConnectError.from(e),
      );
      expect(error, sql).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code, sql).toBe(Code.PermissionDenied);
      expect(errorReason(error), sql).toBe("FUNCTION_NOT_ALLOWED");
      expect(error.message, sql).not.toContain(fx.cacheDirectory);
    }
  });

  it("offers no virtual column of the file scan, such as the cached file's path", async () => {
    for (const sql of [
      "SELECT filename FROM t",
      "SELECT t.file_row_number FROM t",
      "SELECT file_index FROM t",
    ]) {
      const error = await fx.collect({ sql }).then(
        (result) => new Error(`${sql} answered ${JSON.stringify(result.table().toArray())}`),
        (e: unknown) => ConnectError.from(e),
      );
      expect(error, sql).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code, sql).toBe(Code.InvalidArgument);
      expect(error.message, sql).not.toContain(fx.cacheDirectory);
    }
    const columns = await fx.collect({ sql: "SELECT * FROM t" });
    expect(columns.header.columns.map((c) => c.name)).toEqual(["x"]);
  });

  it("refuses the same statements in ExplainQuery and WriteQueryResult", async () => {
    for (const sql of [
      "SELECT * FROM read_text('/etc/passwd')",
      `COPY (SELECT 1) TO '${outside}/w.csv'`,
    ]) {
      const explain = await fx.query
        .explainQuery({ sql })
        .catch((e: unknown) => ConnectError.from(e));
      const write = await fx.query
        .writeQueryResult({ sql, dataset: "stolen", createIfMissing: true })
        .catch((e: unknown) => ConnectError.from(e));
      expect((explain as ConnectError).code).toBe(Code.PermissionDenied);
      expect((write as ConnectError).code).toBe(Code.PermissionDenied);
    }
    expect(await readdir(outside)).toEqual([]);
    const listed = await fx.catalogFixture.catalog.listDatasets({});
    expect(listed.datasets.map((d) => d.name)).not.toContain("stolen");
  });
});
