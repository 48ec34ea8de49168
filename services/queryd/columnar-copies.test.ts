import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResultFormat } from "../../gen/lakehouse/query/v1/query_pb.js";
import { createLogger } from "../kit/logger.js";
import { createColumnarCopies } from "./columnar-copies.js";
import { createFileCache } from "./file-cache.js";
import { type QueryFixture, startQueryFixture } from "./testing/query-fixture.js";

let fx: QueryFixture;
const CACHE_BYTES = 16 * 1024 ** 2;
const SMALLEST_COPIED = 64 * 1024;

/** A column of every kind a Parquet file holds, NULLs among them. */
const EVERY_TYPE = `
  SELECT range AS id,
         (range % 120)::TINYINT AS i8, range::UINTEGER AS u32, (range * 1e12)::HUGEINT AS huge,
         (range / 7)::DECIMAL(9, 3) AS d9, (range * 1234567.891)::DECIMAL(38, 10) AS d38,
         (range / 3)::FLOAT AS f, (range / 3)::DOUBLE AS dbl, range % 2 = 0 AS flag,
         CASE WHEN range % 5 = 0 THEN NULL ELSE 'text ' || range END AS txt,
         ('\\x' || lpad(to_hex(range % 256), 2, '0'))::BLOB AS bin,
         DATE '2024-01-01' + range::INTEGER AS day, TIME '01:02:03.456789' AS tod,
         TIMESTAMP '2024-01-01 00:00:00.123456' + to_seconds(range) AS ts,
         TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(range) AS tstz,
         '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS id_uuid,
         [range, NULL, range + 1] AS list, {'a': range, 'b': [txt_inner]} AS nested,
         MAP {'k': range} AS map
  FROM range(3000), (SELECT 'x' AS txt_inner)`;

beforeAll(async () => {
  fx = await startQueryFixture({
    columnarCopyMinBytes: SMALLEST_COPIED,
    cacheMaxBytes: CACHE_BYTES,
  });
  await fx.ingest("wide", EVERY_TYPE);
  // A small file, one of several hundred KiB, a small one: only the middle one gets a copy.
  for (const [start, end] of [
    [0, 1000],
    [1000, 101_000],
    [101_000, 102_000],
  ]) {
    await fx.ingest(
      "parts",
      `SELECT range AS n, md5(range::VARCHAR) AS label FROM range(${start}, ${end})`,
    );
  }
  await fx.ingest("unread", "SELECT md5(range::VARCHAR) AS s FROM range(20000)");
});

afterAll(async () => {
  await fx?.close();
});

const plan = async (sql: string) => (await fx.query.explainQuery({ sql })).plan;

const snapshotFiles = async (name: string) =>
  (await fx.catalogFixture.catalog.getDataset({ name })).dataset?.snapshot?.files ?? [];

/** The Arrow stream and JSON rows of a statement. */
async function answers(sql: string) {
  const arrow = await fx.collect({ sql });
  const json = await fx.collect({ sql, format: ResultFormat.JSON });
  const table = arrow.table();
  return {
    columns: arrow.header.columns,
    arrowTypes: table.schema.fields.map((field) => `${field.name}: ${field.type}`),
    // As JSON: values in the slots of NULLs are not part of an answer.
    arrowRows: JSON.stringify(table.toArray(), (_, value) =>
      typeof value === "bigint" ? `${value}n` : value,
    ),
    rows: json.jsonRows,
  };
}

/** Reads a dataset twice so its files get copies, then waits for them. */
async function copied(sql: string) {
  const fromParquet = await answers(sql);
  await fx.copies?.settled();
  return fromParquet;
}

describe("columnar copies", () => {
  it("copy a file a second query reads, and the copy answers exactly as the Parquet file", async () => {
    const sql = "SELECT * FROM wide";
    expect(await plan(sql)).toContain("READ_PARQUET");
    const fromParquet = await copied(sql);
    expect(await plan(sql)).not.toContain("READ_PARQUET");
    expect(await plan(sql)).toContain("columnar_");
    const fromCopy = await answers(sql);
    expect(fromCopy.columns).toEqual(fromParquet.columns);
    expect(fromCopy.rows).toEqual(fromParquet.rows);
    expect(fromCopy.arrowTypes).toEqual(fromParquet.arrowTypes);
    expect(fromCopy.arrowRows).toEqual(fromParquet.arrowRows);
    expect(fromCopy.rows).toHaveLength(3000);
  });

  it("read a snapshot from its files' copies and the files without one, in file order", async () => {
    const sql = "SELECT n, label FROM parts";
    const files = await snapshotFiles("parts");
    expect(files.map((file) => Number(file.size) >= SMALLEST_COPIED)).toEqual([false, true, false]);
    const fromParquet = await copied(sql);
    expect(files.map((file) => fx.copies?.tableOf(file.sha256) !== undefined)).toEqual([
      false,
      true,
      false,
    ]);
    const mixed = await plan(sql);
    expect(mixed).toContain("READ_PARQUET");
    expect(mixed).toContain("SEQ_SCAN");
    const fromCopy = await answers(sql);
    expect(fromCopy.rows).toEqual(fromParquet.rows);
    expect(fromCopy.rows.map((row) => JSON.parse(row).n)).toEqual(
      Array.from({ length: 102_000 }, (_, n) => String(n)),
    );
  });

  it("count only statements that ran as reads", async () => {
    const [file] = await snapshotFiles("unread");
    const failed = (sql: string) => fx.collect({ sql }).catch((error: unknown) => error);
    for (let i = 0; i < 2; i++) {
      await fx.query.explainQuery({ sql: "SELECT * FROM unread" });
      expect(await failed("SELECT no_such_column FROM unread")).toBeInstanceOf(Error);
    }
    await fx.copies?.settled();
    expect(fx.copies?.tableOf(file?.sha256 ?? "")).toBeUndefined();
    await copied("SELECT count(DISTINCT s) FROM unread");
    expect(fx.copies?.tableOf(file?.sha256 ?? "")).toBeDefined();
  });

  it("cannot be stood in for by a CTE of the same name", async () => {
    const sha = (await snapshotFiles("wide"))[0]?.sha256 ?? "";
    const sql = `WITH "columnar_${sha}" AS (SELECT 42 AS id) SELECT sum(id) AS n FROM wide`;
    expect(await plan(sql)).toContain("SEQ_SCAN");
    expect((await fx.collect({ sql, format: ResultFormat.JSON })).jsonRows).toEqual([
      '{"n":"4498500"}',
    ]);
  });

  it("take only room the cache can spare", async () => {
    await fx.ingest("roomy", "SELECT md5(range::VARCHAR) AS s FROM range(20000, 40000)");
    const [file] = await snapshotFiles("roomy");
    if (file === undefined) throw new Error("roomy has no file");
    const size = Number(file.size);
    /** The sizes of the copies a cache of `maxBytes` holding only this file keeps of it. */
    const copiesWithin = async (maxBytes: number, name: string) => {
      const cache = await createFileCache({
        directory: join(fx.cacheDirectory, name),
        maxBytes,
        storage: fx.catalogFixture.storage,
      });
      const made: number[] = [];
      const copies = createColumnarCopies({
        engine: fx.engine,
        cache,
        cacheMaxBytes: 4 * size,
        minCopyBytes: 0,
        logger: createLogger({
          write: (line) => {
            const entry = JSON.parse(line);
            if (entry.msg === "columnar copy made") made.push(entry.bytes);
          },
        }),
      });
      await cache.acquire([file]).then((lease) => lease.release());
      copies.noteRead([file]);
      copies.noteRead([file]);
      await copies.settled();
      await fx.engine.withBackgroundConnection((c) =>
        c.run(`DETACH DATABASE IF EXISTS "columnar_${file.sha256}"`),
      );
      return made;
    };
    // Room for less than the file's size: no copy is made.
    expect(await copiesWithin(Math.floor(size * 1.5), "tight")).toEqual([]);
    const [copyBytes = 0] = await copiesWithin(size * 4, "roomy");
    // These strings take more room in DuckDB's format than in Parquet, so
    // room for the file's size but not the copy's: the copy is not kept.
    expect(copyBytes).toBeGreaterThan(size);
    const short = size + Math.floor((size + copyBytes) / 2);
    expect(await copiesWithin(short, "short")).toEqual([]);
  });

  it("count against the cache's size and go with their file", async () => {
    const databases = () =>
      fx.engine.withBackgroundConnection(async (connection) =>
        (await connection.runAndReadAll("SELECT database_name FROM duckdb_databases()"))
          .getRows()
          .map((row) => String(row[0])),
      );
    const wideSha = (await snapshotFiles("wide"))[0]?.sha256 ?? "";
    const copyFile = join(fx.cacheDirectory, wideSha.slice(0, 2), `${wideSha}.duckdb`);
    expect(await databases()).toContain(`columnar_${wideSha}`);
    expect((await stat(copyFile)).size).toBeGreaterThan(0);
    let parquetBytes = 0;
    for (const name of ["wide", "parts", "unread"]) {
      const answer = await fx.catalogFixture.catalog.getDataset({ name });
      parquetBytes += Number(answer.dataset?.snapshot?.size ?? 0n);
    }
    expect(fx.cache.usedBytes()).toBeGreaterThan(parquetBytes);
    // A file larger than the cache (so without a copy) evicts every file no query holds, copies and all.
    await fx.ingest(
      "big",
      "SELECT md5(range::VARCHAR) || md5((range + 1)::VARCHAR) AS s FROM range(500000)",
    );
    for (let i = 0; i < 2; i++) await fx.collect({ sql: "SELECT count(*) FROM big" });
    await fx.copies?.settled();
    expect(fx.copies?.tableOf((await snapshotFiles("big"))[0]?.sha256 ?? "")).toBeUndefined();
    expect(fx.copies?.tableOf(wideSha)).toBeUndefined();
    expect(await databases()).not.toContain(`columnar_${wideSha}`);
    await expect(stat(copyFile)).rejects.toThrow(/ENOENT/);
    expect(await plan("SELECT * FROM wide")).toContain("READ_PARQUET");
    expect(fx.cache.usedBytes()).toBeLessThanOrEqual(CACHE_BYTES);
  });
});
