import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SearchMode } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { errorReason } from "../kit/errors.js";
import { type AiFixture, startAiFixture } from "./testing/ai-fixture.js";

const articles = [
  [1, "How to reset a forgotten password for your account"],
  [2, "Quarterly revenue grew in the northern sales region"],
  [3, "Baking sourdough bread at home with a starter"],
  [4, "Password managers keep every account password safe"],
  [5, "The northern region reported record sales this quarter"],
  [6, "Training a puppy to sit and stay"],
];

const values = (rows: (string | number)[][]) =>
  rows.map(([id, body]) => `(${id}, '${String(body).replaceAll("'", "''")}')`).join(", ");

let fixture: AiFixture;

beforeAll(async () => {
  fixture = await startAiFixture();
  await fixture.data.ingest(
    "articles",
    `SELECT * FROM (VALUES ${values(articles)}) AS t(id, body)`,
  );
});

afterAll(async () => {
  await fixture?.close();
});

const idsOf = (hits: { rowJson: string }[]) =>
  hits.map((hit) => Number((JSON.parse(hit.rowJson) as { id: string | number }).id));

describe("search indexes", () => {
  it("embeds every distinct text of a column into a derived dataset tied to the snapshot", async () => {
    const built = await fixture.ai.buildSearchIndex({ dataset: "articles", column: "body" });
    expect(built.sourceVersion).toBe(1n);
    expect(built.rowsEmbedded).toBe(6n);
    expect(built.rowsReused).toBe(0n);
    expect(built.indexDataset).toMatch(/^articles__body__vec_[0-9a-f]{12}$/);
    const index = await fixture.data.catalogFixture.catalog.getDataset({
      name: built.indexDataset,
    });
    const snapshot = index.dataset?.snapshot;
    expect(snapshot?.version).toBe(built.indexVersion);
    expect(snapshot?.rowCount).toBe(6n);
    expect(snapshot?.schema?.fields.map((f) => [f.name, f.type])).toEqual([
      ["text_hash", "VARCHAR"],
      ["embedding", "FLOAT[]"],
    ]);
    const source = (await fixture.data.catalogFixture.catalog.getDataset({ name: "articles" }))
      .dataset?.snapshot?.commitTime;
    expect(JSON.parse(snapshot?.message.replace("lakehouse search index ", "") ?? "")).toEqual({
      source: "articles",
      sourceVersion: 1,
      sourceCommitted: `${source?.seconds}.${source?.nanos}`,
      column: "body",
      provider: "builtin",
      model: "hashed-ngrams-256",
      dimensions: 256,
    });
  });

  it("finds the rows a person would expect on top, in every mode", async () => {
    for (const mode of [SearchMode.VECTOR, SearchMode.LEXICAL, SearchMode.HYBRID]) {
      const found = await fixture.ai.searchDataset({
        dataset: "articles",
        column: "body",
        query: "forgot my password",
        k: 2,
        mode,
      });
      expect(idsOf(found.hits).sort(), SearchMode[mode]).toEqual([1, 4]);
      expect(found.hits[0]?.score).toBeGreaterThanOrEqual(found.hits[1]?.score ?? 0);
      expect(found.receipts.map((r) => r.dataset)).toContain("articles");
    }
    const sales = await fixture.ai.searchDataset({
      dataset: "articles",
      column: "body",
      query: "sales in the northern region",
      k: 2,
    });
    expect(idsOf(sales.hits).sort()).toEqual([2, 5]);
    expect(JSON.parse(sales.hits[0]?.rowJson ?? "{}")).toHaveProperty("body");
  });

  it("re-embeds only new or changed texts when rebuilt for a newer snapshot", async () => {
    await fixture.data.ingest(
      "articles",
      `SELECT * FROM (VALUES (7, 'Grooming a long haired cat'), (8, 'Training a puppy to sit and stay')) AS t(id, body)`,
    );
    const rebuilt = await fixture.ai.buildSearchIndex({ dataset: "articles", column: "body" });
    expect(rebuilt.sourceVersion).toBe(2n);
    expect(rebuilt.rowsEmbedded).toBe(1n);
    expect(rebuilt.rowsReused).toBe(6n);
    expect(rebuilt.indexVersion).toBe(2n);
    const cat = await fixture.ai.searchDataset({
      dataset: "articles",
      column: "body",
      query: "cat grooming",
      k: 1,
    });
    expect(idsOf(cat.hits)).toEqual([7]);
  });

  it("answers NOT_FOUND for an unknown column and for a column with no index", async () => {
    const noColumn = await fixture.ai
      .buildSearchIndex({ dataset: "articles", column: "title" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(noColumn).toBeInstanceOf(ConnectError);
    expect((noColumn as ConnectError).code).toBe(Code.NotFound);
    const noIndex = await fixture.ai
      .searchDataset({ dataset: "articles", column: "id", query: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((noIndex as ConnectError).code).toBe(Code.NotFound);
  });

  it("refuses to index a column that is not text", async () => {
    const error = await fixture.ai
      .buildSearchIndex({ dataset: "articles", column: "id" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
  });
});

describe("search index names", () => {
  it("names a column in any letter case, as DuckDB does, when indexing and searching", async () => {
    await fixture.data.ingest(
      "memos",
      `SELECT * FROM (VALUES ${values([[7, "Order more toner for the printer"]])}) AS t(id, body)`,
    );
    const built = await fixture.ai.buildSearchIndex({ dataset: "memos", column: "BODY" });
    expect(built.indexDataset).toMatch(/^memos__body__vec_/);
    const found = await fixture.ai.searchDataset({
      dataset: "memos",
      column: "Body",
      query: "toner",
      k: 1,
    });
    expect(idsOf(found.hits)).toEqual([7]);
  });

  it("answers FAILED_PRECONDITION INDEX_STALE once the indexed snapshot is gone or made again, and works after a rebuild", async () => {
    const rows = (text: string) => `SELECT * FROM (VALUES ${values([[1, text]])}) AS t(id, body)`;
    await fixture.data.ingest("notes", rows("The printer on floor three is jammed"));
    await fixture.data.ingest("notes", rows("The printer on floor four is jammed"));
    await fixture.ai.buildSearchIndex({ dataset: "notes", column: "body" });
    // Dropped and made again: its only snapshot is 1, the index was built from 2.
    await fixture.data.catalogFixture.catalog.deleteDataset({ name: "notes" });
    await fixture.data.ingest("notes", rows("Refund the duplicate charge"));
    const stale = await fixture.ai
      .searchDataset({ dataset: "notes", column: "body", query: "printer", k: 1 })
      .catch((error: unknown) => ConnectError.from(error));
    expect((stale as ConnectError).code).toBe(Code.FailedPrecondition);
    expect(errorReason(stale)).toBe("INDEX_STALE");
    // Now a snapshot 2 exists again, holding other rows: still not the indexed one.
    await fixture.data.ingest("notes", rows("Refund the duplicate charge"));
    const reborn = await fixture.ai
      .searchDataset({ dataset: "notes", column: "body", query: "printer", k: 1 })
      .catch((error: unknown) => ConnectError.from(error));
    expect(errorReason(reborn)).toBe("INDEX_STALE");
    await fixture.ai.buildSearchIndex({ dataset: "notes", column: "body" });
    const found = await fixture.ai.searchDataset({
      dataset: "notes",
      column: "body",
      query: "refund",
      k: 1,
    });
    expect(idsOf(found.hits)).toEqual([1]);
  });

  it("keeps apart the indexes of two datasets whose names share their first 64 characters", async () => {
    const shared = "customer_support_tickets_archived_from_the_old_helpdesk_system_x";
    expect(shared).toHaveLength(64);
    const [first, second] = [`${shared}_b`, `${shared}_a`];
    await fixture.data.ingest(
      first,
      `SELECT * FROM (VALUES ${values([[1, "The printer on floor three is jammed again"]])}) AS t(id, body)`,
    );
    await fixture.data.ingest(
      second,
      `SELECT * FROM (VALUES ${values([[2, "Refund the duplicate charge on my invoice"]])}) AS t(id, body)`,
    );
    const builtFirst = await fixture.ai.buildSearchIndex({ dataset: first, column: "body" });
    const builtSecond = await fixture.ai.buildSearchIndex({ dataset: second, column: "body" });
    expect(builtFirst.indexDataset.length).toBeLessThanOrEqual(128);
    expect(builtSecond.indexDataset).not.toBe(builtFirst.indexDataset);
    expect(builtSecond.indexVersion).toBe(1n);
    for (const [dataset, query, id] of [
      [first, "printer jammed", 1],
      [second, "duplicate charge refund", 2],
    ] as const) {
      const found = await fixture.ai.searchDataset({ dataset, column: "body", query, k: 1 });
      expect(idsOf(found.hits), dataset).toEqual([id]);
      expect(found.receipts.map((r) => r.dataset)).toContain(dataset);
    }
  });
});
