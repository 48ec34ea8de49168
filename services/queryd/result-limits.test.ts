import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LimitBehavior, ResultFormat } from "../../gen/lakehouse/query/v1/query_pb.js";
import { errorReason } from "../kit/errors.js";
import { type QueryFixture, startQueryFixture } from "./testing/query-fixture.js";

let fx: QueryFixture;

beforeAll(async () => {
  fx = await startQueryFixture({
    poolSize: 1,
    maxQueued: 0,
    limits: { maxResultRows: 20_000, maxResultBytes: 64 * 1024, batchRows: 1000 },
  });
  await fx.ingest("numbers", "SELECT range AS n, range * 2 AS m FROM range(50000)");
});

afterAll(async () => {
  await fx?.close();
});

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => ConnectError.from(error),
  );
}

describe("result limits and batching", () => {
  it("streams a result in batches of the configured size that decode to one Arrow table", async () => {
    const result = await fx.collect({ sql: "SELECT n FROM numbers WHERE n < 2500 ORDER BY n" });
    expect(result.batchRowCounts).toEqual([1000, 1000, 500]);
    const table = result.table();
    expect(table.numRows).toBe(2500);
    expect(table.getChild("n")?.get(2499)).toBe(2499n);
  });

  it("lowers a larger max_rows to the server's row limit", async () => {
    const result = await fx.collect({
      sql: "SELECT (n % 100)::TINYINT AS small FROM numbers WHERE n < 30000",
      maxRows: 25_000n,
    });
    expect(result.summary).toMatchObject({ rowCount: 20_000n, truncated: true });
  });

  it("truncates at the byte limit without going over it", async () => {
    const result = await fx.collect({ sql: "SELECT n, m FROM numbers WHERE n < 10000" });
    expect(result.summary.truncated).toBe(true);
    expect(result.summary.byteCount).toBeLessThanOrEqual(64n * 1024n);
    expect(result.table().numRows).toBe(Number(result.summary.rowCount));
    expect(result.summary.rowCount).toBeGreaterThan(0n);
  });

  it("fails with RESOURCE_EXHAUSTED at the byte limit when asked to, in JSON too", async () => {
    const error = await failure(
      fx.collect({
        sql: "SELECT n, m FROM numbers WHERE n < 10000",
        format: ResultFormat.JSON,
        onLimit: LimitBehavior.FAIL,
      }),
    );
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(errorReason(error)).toBe("RESULT_TOO_LARGE");
  });

  it("refuses a query with RESOURCE_EXHAUSTED when every connection runs and the queue is full", async () => {
    const controller = new AbortController();
    const stream = fx.queryOverNetwork.executeQuery(
      { sql: "SELECT count(*) FROM numbers a, numbers b WHERE a.n + b.n = -1" },
      { signal: controller.signal },
    );
    const running = stream[Symbol.asyncIterator]()
      .next()
      .catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const error = await failure(fx.collect({ sql: "SELECT 1 AS one" }));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(errorReason(error)).toBe("TOO_MANY_QUERIES");
    controller.abort();
    await running;
    const next = await fx.collect(
      { sql: "SELECT count(*) AS c FROM numbers" },
      { timeoutMs: 5000 },
    );
    expect(next.summary.rowCount).toBe(1n);
  });

  it("reads a snapshot without files as an empty relation with the dataset's columns", async () => {
    await fx.ingest("emptied", "SELECT 1::INTEGER AS a, 'x' AS b");
    const dataset = await fx.catalogFixture.catalog.getDataset({ name: "emptied" });
    const key = dataset.dataset?.snapshot?.files[0]?.key ?? "";
    await fx.catalogFixture.catalog.commitSnapshot({ dataset: "emptied", removeFiles: [key] });
    const result = await fx.collect({ sql: "SELECT * FROM emptied" });
    expect(result.header.columns.map((c) => [c.name, c.type])).toEqual([
      ["a", "INTEGER"],
      ["b", "VARCHAR"],
    ]);
    expect(result.header.receipts[0]?.version).toBe(2n);
    expect(result.summary.rowCount).toBe(0n);
    expect(result.table().numRows).toBe(0);
  });
});
