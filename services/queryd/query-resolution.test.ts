import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DuckDBEngine } from "./duckdb-engine.js";
import { createQueryResolver, type QueryResolver } from "./query-resolution.js";
import { type QueryFixture, startQueryFixture } from "./testing/query-fixture.js";

let fx: QueryFixture;
/** Statements the resolver's engine parsed or rendered (utility connection uses). */
let utilityCalls = 0;
let resolver: QueryResolver;

beforeAll(async () => {
  fx = await startQueryFixture();
  const counting: DuckDBEngine = {
    ...fx.engine,
    withUtilityConnection(work) {
      utilityCalls++;
      return fx.engine.withUtilityConnection(work);
    },
  };
  resolver = createQueryResolver({
    engine: counting,
    catalog: fx.catalogFixture.catalog,
    cache: fx.cache,
  });
});

afterAll(async () => {
  await fx?.close();
});

const rowsOf = (result: Awaited<ReturnType<QueryFixture["collect"]>>) =>
  result
    .table()
    .toArray()
    .map((row) => Object.values(row.toJSON()));

/** Resolves, releases at once, and returns what was resolved. */
async function resolveOnce(sql: string, optimistic = false) {
  const resolved = await resolver.resolve(sql, { optimistic });
  resolved.release();
  return resolved;
}

describe("QueryResolver", () => {
  it("parses and rewrites a repeated statement once, and again when its snapshot moves on", async () => {
    await fx.ingest("repeated", "SELECT range AS n FROM range(3)");
    const sql = "SELECT sum(n) FROM repeated";
    const first = await resolveOnce(sql);
    const before = utilityCalls;
    const second = await resolveOnce(sql);
    expect(utilityCalls).toBe(before);
    expect(second.sql).toBe(first.sql);

    await fx.ingest("repeated", "SELECT range AS n FROM range(10, 12)");
    const third = await resolveOnce(sql);
    expect(utilityCalls).toBeGreaterThan(before);
    expect(third.receipts.map((r) => r.version)).toEqual([2n]);
    expect(third.sql).not.toBe(first.sql);
  });

  it("binds the remembered snapshot when optimistic and confirms it is current", async () => {
    await fx.ingest("steady", "SELECT 1 AS n");
    await resolveOnce("SELECT n FROM steady");
    const resolved = await resolveOnce("SELECT n FROM steady", true);
    expect(resolved.receipts.map((r) => r.version)).toEqual([1n]);
    await expect(resolved.current).resolves.toBe(true);
  });

  it("reports an optimistic binding stale once a newer snapshot is committed", async () => {
    await fx.ingest("moving", "SELECT 1 AS n");
    await resolveOnce("SELECT n FROM moving");
    await fx.ingest("moving", "SELECT 2 AS n");
    const optimistic = await resolveOnce("SELECT n FROM moving", true);
    expect(optimistic.receipts.map((r) => r.version)).toEqual([1n]);
    await expect(optimistic.current).resolves.toBe(false);
    const fresh = await resolveOnce("SELECT n FROM moving", true);
    expect(fresh.receipts.map((r) => r.version)).toEqual([2n]);
    await expect(fresh.current).resolves.toBe(true);
  });

  it("rejects an optimistic binding's confirmation with NOT_FOUND once the dataset is dropped", async () => {
    await fx.ingest("dropped", "SELECT 1 AS n");
    await resolveOnce("SELECT n FROM dropped");
    await fx.catalogFixture.catalog.deleteDataset({ name: "dropped" });
    const optimistic = await resolveOnce("SELECT n FROM dropped", true);
    const error = await optimistic.current.then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect(error?.code).toBe(Code.NotFound);
    await expect(resolveOnce("SELECT n FROM dropped", true)).rejects.toMatchObject({
      code: Code.NotFound,
    });
  });

  it("is current from the start when not optimistic", async () => {
    await fx.ingest("plain", "SELECT 1 AS n");
    const resolved = await resolveOnce("SELECT n FROM plain");
    await expect(resolved.current).resolves.toBe(true);
  });
});

describe("ExecuteQuery after the catalog changed", () => {
  it("reads the snapshot committed just before, though the previous run bound an older one", async () => {
    await fx.ingest("fresh", "SELECT range AS n FROM range(3)");
    const sql = "SELECT count(*) AS rows FROM fresh";
    expect(rowsOf(await fx.collect({ sql }))).toEqual([[3n]]);
    await fx.ingest("fresh", "SELECT range AS n FROM range(4)");
    const after = await fx.collect({ sql });
    expect(after.header.receipts.map((r) => r.version)).toEqual([2n]);
    expect(rowsOf(after)).toEqual([[7n]]);
  });

  it("answers NOT_FOUND for a dataset dropped since the last run", async () => {
    await fx.ingest("gone", "SELECT 1 AS n");
    const sql = "SELECT n FROM gone";
    expect(rowsOf(await fx.collect({ sql }))).toEqual([[1]]);
    await fx.catalogFixture.catalog.deleteDataset({ name: "gone" });
    const error = await fx.collect({ sql }).then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect(error?.code).toBe(Code.NotFound);
  });

  it("reads the new rows of a dataset dropped and created again at the same version", async () => {
    await fx.ingest("reborn", "SELECT 'old' AS tag");
    const sql = "SELECT tag FROM reborn";
    expect(rowsOf(await fx.collect({ sql }))).toEqual([["old"]]);
    await fx.catalogFixture.catalog.deleteDataset({ name: "reborn" });
    await fx.ingest("reborn", "SELECT 'new' AS tag");
    const after = await fx.collect({ sql });
    expect(after.header.receipts.map((r) => r.version)).toEqual([1n]);
    expect(rowsOf(after)).toEqual([["new"]]);
  });

  it("answers INVALID_ARGUMENT for a statement DuckDB refuses while its snapshot is being confirmed", async () => {
    await fx.ingest("checked", "SELECT 1 AS n");
    expect(rowsOf(await fx.collect({ sql: "SELECT n FROM checked" }))).toEqual([[1]]);
    for (let i = 0; i < 3; i++) {
      const error = await fx.collect({ sql: "SELECT no_such_column FROM checked" }).then(
        () => undefined,
        (reason: unknown) => ConnectError.from(reason),
      );
      expect(error?.code).toBe(Code.InvalidArgument);
    }
    expect(rowsOf(await fx.collect({ sql: "SELECT n + 1 FROM checked" }))).toEqual([[2]]);
  });

  it("checks an expected fingerprint against the catalog's snapshot, not a remembered stale one", async () => {
    await fx.ingest("evolving", "SELECT 1 AS n");
    const sql = "SELECT * FROM evolving";
    expect(rowsOf(await fx.collect({ sql }))).toEqual([[1]]);
    await fx.catalogFixture.catalog.deleteDataset({ name: "evolving" });
    await fx.ingest("evolving", "SELECT 2 AS n, 'two' AS label");
    const { dataset } = await fx.catalogFixture.catalog.getDataset({ name: "evolving" });
    const fingerprint = dataset?.snapshot?.schemaFingerprint ?? "";
    const result = await fx.collect({ sql, expectedSchemaFingerprints: { evolving: fingerprint } });
    expect(result.header.receipts[0]?.schemaFingerprint).toBe(fingerprint);
    expect(rowsOf(result)).toEqual([[2, "two"]]);
  });
});
