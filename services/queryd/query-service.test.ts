import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LimitBehavior, ResultFormat } from "../../gen/lakehouse/query/v1/query_pb.js";
import { errorReason } from "../kit/errors.js";
import { type QueryFixture, startQueryFixture } from "./testing/query-fixture.js";

let fx: QueryFixture;
let salesFile: string;
let itemsFile: string;

/** Runs for seconds unless interrupted: far more rows than any test waits for. */
const RUNAWAY = "SELECT count(*) FROM sales a, sales b, sales c WHERE a.id + b.id + c.id = -1";

beforeAll(async () => {
  fx = await startQueryFixture({ poolSize: 1, maxQueued: 4 });
  salesFile = await fx.ingest(
    "sales",
    "SELECT range AS id, 'item-' || (range % 7) AS item, (range * 1.5)::DOUBLE AS amount FROM range(5000)",
  );
  itemsFile = await fx.ingest(
    "items",
    "SELECT 'item-' || range AS item, 'Label ' || range AS label FROM range(5)",
  );
  await fx.ingest("events", "SELECT range AS n FROM range(3)");
  await fx.ingest("events", "SELECT range + 100 AS n FROM range(2)");
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

const rowsOf = (result: Awaited<ReturnType<QueryFixture["collect"]>>) =>
  result
    .table()
    .toArray()
    .map((row) => Object.values(row.toJSON()));

describe("ExecuteQuery", () => {
  it("answers an aggregate over an ingested dataset exactly as DuckDB does on the same file", async () => {
    const sql =
      "SELECT item, count(*) AS n, sum(amount) AS total FROM sales GROUP BY item ORDER BY item";
    const result = await fx.collect({ sql });
    const expected = await fx.reference(sql.replace("FROM sales", `FROM '${salesFile}'`));
    expect(rowsOf(result)).toEqual(expected);
    expect(result.header.columns.map((c) => [c.name, c.type])).toEqual([
      ["item", "VARCHAR"],
      ["n", "BIGINT"],
      ["total", "DOUBLE"],
    ]);
    expect(result.header.receipts).toMatchObject([{ dataset: "sales", version: 1n }]);
    expect(result.header.receipts[0]?.schemaFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(result.header.queryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.summary).toMatchObject({ rowCount: 7n, truncated: false });
    expect(result.summary.byteCount).toBeGreaterThan(0n);
  });

  it("joins two datasets with aliases and a CTE, as DuckDB does on the files", async () => {
    const sql = `WITH top AS (SELECT item, sum(amount) AS total FROM sales s WHERE s.id < 1000 GROUP BY item)
      SELECT i.label, top.total FROM top JOIN items AS i ON i.item = top.item ORDER BY i.label`;
    const result = await fx.collect({ sql });
    const expected = await fx.reference(
      sql
        .replace("FROM sales s", `FROM '${salesFile}' s`)
        .replace("JOIN items", `JOIN '${itemsFile}'`),
    );
    expect(expected.length).toBe(5);
    expect(rowsOf(result)).toEqual(expected);
    expect(result.header.receipts.map((r) => r.dataset)).toEqual(["sales", "items"]);
  });

  it("reads a dataset named in any letter case, as DuckDB reads table names", async () => {
    const sql = 'SELECT count(*) AS n, max(SALES.id) AS top FROM SALES JOIN "Items" USING (item)';
    const result = await fx.collect({ sql });
    const expected = await fx.reference(
      sql.replace("FROM SALES", `FROM '${salesFile}' SALES`).replace('"Items"', `'${itemsFile}'`),
    );
    expect(expected).toEqual([[3572n, 4999n]]);
    expect(rowsOf(result)).toEqual(expected);
    expect(result.header.receipts.map((r) => r.dataset)).toEqual(["sales", "items"]);
  });

  it("reads a pinned snapshot with AT (VERSION => n) and the latest without", async () => {
    const result = await fx.collect({
      sql: "SELECT (SELECT count(*) FROM events AT (VERSION => 1)) AS then, (SELECT count(*) FROM events) AS now",
    });
    expect(rowsOf(result)).toEqual([[3n, 5n]]);
    expect(result.header.receipts.map((r) => [r.dataset, r.version])).toEqual([
      ["events", 1n],
      ["events", 2n],
    ]);
  });

  it("binds positional and named parameters by value", async () => {
    const positional = await fx.collect({
      sql: "SELECT count(*) AS n FROM sales WHERE id < ? AND item = ?",
      parameters: [
        { value: { case: "int64Value", value: 70n } },
        { value: { case: "stringValue", value: "item-3" } },
      ],
    });
    expect(rowsOf(positional)).toEqual([[10n]]);
    const named = await fx.collect({
      sql: "SELECT $label || '!' AS s, $flag AS f, $raw AS b, $nothing AS z",
      parameters: [
        { name: "label", value: { case: "stringValue", value: "it's" } },
        { name: "flag", value: { case: "boolValue", value: true } },
        { name: "raw", value: { case: "bytesValue", value: new Uint8Array([1, 2]) } },
        { name: "nothing", value: { case: "nullValue", value: true } },
      ],
      format: ResultFormat.JSON,
    });
    expect(named.jsonRows.map((row) => JSON.parse(row))).toMatchObject([
      { s: "it's!", f: true, z: null },
    ]);
  });

  it("refuses parameters that do not match the placeholders", async () => {
    const error = await failure(fx.collect({ sql: "SELECT ? AS a", parameters: [] }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe("INVALID_PARAMETERS");
  });

  it("refuses a statement mixing positional and named placeholders as the caller's error", async () => {
    const error = await failure(
      fx.collect({
        sql: "SELECT ? AS a, $b AS b",
        parameters: [
          { value: { case: "int64Value", value: 1n } },
          { name: "b", value: { case: "int64Value", value: 2n } },
        ],
      }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(/Mixing named and positional parameters/);
  });

  it("returns JSON rows with 64-bit integers as strings", async () => {
    const result = await fx.collect({
      sql: "SELECT id, item FROM sales WHERE id IN (1, 9007199254740993) ORDER BY id",
      format: ResultFormat.JSON,
    });
    expect(result.jsonRows.map((row) => JSON.parse(row))).toEqual([{ id: "1", item: "item-1" }]);
    expect(result.ipc.byteLength).toBe(0);
    expect(result.summary.rowCount).toBe(1n);
  });

  it("keeps 64-bit literals exact through the statement rewrite", async () => {
    const result = await fx.collect({
      sql: "SELECT 9007199254740993 AS big, count(*) AS n FROM items",
    });
    expect(rowsOf(result)).toEqual([[9007199254740993n, 5n]]);
  });

  it("truncates at max_rows and marks the summary, the Arrow stream still whole", async () => {
    const result = await fx.collect({ sql: "SELECT id FROM sales ORDER BY id", maxRows: 2500n });
    expect(result.table().numRows).toBe(2500);
    expect(result.summary).toMatchObject({ rowCount: 2500n, truncated: true });
    const exact = await fx.collect({ sql: "SELECT id FROM sales", maxRows: 5000n });
    expect(exact.summary).toMatchObject({ rowCount: 5000n, truncated: false });
  });

  it("fails with RESOURCE_EXHAUSTED at max_rows when asked to", async () => {
    const error = await failure(
      fx.collect({ sql: "SELECT id FROM sales", maxRows: 10n, onLimit: LimitBehavior.FAIL }),
    );
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(errorReason(error)).toBe("RESULT_TOO_LARGE");
  });

  it("fails with FAILED_PRECONDITION before running when a schema fingerprint differs", async () => {
    const [receipt] = (await fx.collect({ sql: "SELECT 1 FROM items LIMIT 0" })).header.receipts;
    const ok = await fx.collect({
      sql: "SELECT count(*) FROM items",
      expectedSchemaFingerprints: { items: receipt?.schemaFingerprint ?? "" },
    });
    expect(ok.summary.rowCount).toBe(1n);
    const error = await failure(
      fx.collect({
        sql: "SELECT count(*) FROM items",
        expectedSchemaFingerprints: { items: "0".repeat(64) },
      }),
    );
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(errorReason(error)).toBe("SCHEMA_FINGERPRINT_MISMATCH");
  });

  it("answers NOT_FOUND for an unknown dataset or version", async () => {
    expect((await failure(fx.collect({ sql: "SELECT * FROM nowhere" }))).code).toBe(Code.NotFound);
    expect((await failure(fx.collect({ sql: "SELECT * FROM items AT (VERSION => 9)" }))).code).toBe(
      Code.NotFound,
    );
  });

  it("fails with DuckDB's error, not a short result, when a statement fails after rows were sent", async () => {
    const sql = `SELECT id, CASE WHEN id = 150000 THEN error('bad row ' || id) END AS e
      FROM (SELECT range AS id FROM range(200000))`;
    const error = await failure(fx.collect({ sql }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("bad row 150000");
    const next = await fx.collect({
      sql: "SELECT count(*) AS n FROM sales",
      format: ResultFormat.JSON,
    });
    expect(next.jsonRows).toEqual(['{"n":"5000"}']);
  });

  it("answers INVALID_ARGUMENT UNSUPPORTED_RESULT_TYPE for a column of DuckDB's TYPE type", async () => {
    const sql = "SELECT get_type(id) AS t FROM sales";
    for (const call of [
      () => fx.collect({ sql }),
      () => fx.query.explainQuery({ sql }),
      () => fx.query.writeQueryResult({ sql, dataset: "types_of", createIfMissing: true }),
    ]) {
      const error = await failure(call());
      expect(error.code).toBe(Code.InvalidArgument);
      expect(errorReason(error)).toBe("UNSUPPORTED_RESULT_TYPE");
    }
    expect(
      (await fx.collect({ sql: "SELECT get_type(id)::VARCHAR AS t FROM sales LIMIT 1" })).header
        .columns[0]?.type,
    ).toBe("VARCHAR");
  });

  it("answers INVALID_ARGUMENT with DuckDB's message for a binder error", async () => {
    const error = await failure(fx.collect({ sql: "SELECT no_such_column FROM items" }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("no_such_column");
    expect(error.rawMessage).not.toContain(fx.cacheDirectory);
  });

  it("stops a runaway query at a 300 ms deadline with DEADLINE_EXCEEDED, and the next query runs", async () => {
    const started = Date.now();
    const client = fx.queryOverNetwork;
    const error = await failure(fx.collect({ sql: RUNAWAY }, { timeoutMs: 300, client }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(3000);
    const next = await fx.collect(
      { sql: "SELECT count(*) FROM items" },
      { timeoutMs: 5000, client },
    );
    expect(rowsOf(next)).toEqual([[5n]]);
  });

  it("interrupts DuckDB when the client cancels, freeing the only connection", async () => {
    const controller = new AbortController();
    const client = fx.queryOverNetwork;
    const running = failure(fx.collect({ sql: RUNAWAY }, { signal: controller.signal, client }));
    setTimeout(() => controller.abort(), 200);
    expect((await running).code).toBe(Code.Canceled);
    const next = await fx.collect({ sql: "SELECT count(*) FROM items" }, { timeoutMs: 5000 });
    expect(rowsOf(next)).toEqual([[5n]]);
  });

  it("frees the connection when a client cancels while the stream waits for it to read", async () => {
    const controller = new AbortController();
    const stream = fx.queryOverNetwork.executeQuery(
      { sql: "SELECT a.*, b.* FROM sales a, items b" },
      { signal: controller.signal },
    );
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.payload.case).toBe("header");
    controller.abort();
    await iterator.next().catch(() => undefined);
    const next = await fx.collect({ sql: "SELECT count(*) FROM items" }, { timeoutMs: 5000 });
    expect(rowsOf(next)).toEqual([[5n]]);
  });
});

describe("ExplainQuery", () => {
  it("returns the plan, the receipts and the columns without running", async () => {
    const response = await fx.query.explainQuery({
      sql: "SELECT item, count(*) AS n FROM sales WHERE id > $min GROUP BY item",
      parameters: [{ name: "min", value: { case: "int64Value", value: 10n } }],
    });
    expect(response.plan).toMatch(/PARQUET|READ_PARQUET/i);
    expect(response.columns.map((c) => [c.name, c.type])).toEqual([
      ["item", "VARCHAR"],
      ["n", "BIGINT"],
    ]);
    expect(response.receipts.map((r) => r.dataset)).toEqual(["sales"]);
  });

  it("shows no local file paths in the plan", async () => {
    const response = await fx.query.explainQuery({ sql: "SELECT * FROM sales" });
    expect(response.plan).not.toContain(fx.cacheDirectory);
    expect(response.plan).not.toMatch(/\.parquet/);
  });
});

describe("WriteQueryResult", () => {
  it("commits a query result as a new dataset, then appends and replaces", async () => {
    const created = await fx.query.writeQueryResult({
      sql: "SELECT item, count(*) AS n FROM sales GROUP BY item",
      dataset: "item_counts",
      createIfMissing: true,
      message: "first",
    });
    expect(created.rowCount).toBe(7n);
    expect(created.snapshot).toMatchObject({ version: 1n, rowCount: 7n, message: "first" });
    expect(created.snapshot?.files[0]?.key).toMatch(
      /^datasets\/item_counts\/data\/[0-9a-f-]{36}\.parquet$/,
    );
    expect(created.receipts.map((r) => r.dataset)).toEqual(["sales"]);

    const appended = await fx.query.writeQueryResult({
      sql: "SELECT item, n FROM item_counts WHERE item = ?",
      parameters: [{ value: { case: "stringValue", value: "item-0" } }],
      dataset: "item_counts",
    });
    expect(appended.snapshot).toMatchObject({ version: 2n, rowCount: 8n });

    const replaced = await fx.query.writeQueryResult({
      sql: "SELECT 'all' AS item, count(*) AS n FROM item_counts",
      dataset: "item_counts",
      replaceAll: true,
    });
    expect(replaced.snapshot).toMatchObject({ version: 3n, rowCount: 1n });
    const result = await fx.collect({ sql: "SELECT item, n FROM item_counts" });
    expect(rowsOf(result)).toEqual([["all", 8n]]);
  });

  it("returns the original snapshot for a repeated idempotency key and keeps no second file", async () => {
    const write = () =>
      fx.query.writeQueryResult({
        sql: "SELECT id FROM sales WHERE id < 3",
        dataset: "keyed",
        createIfMissing: true,
        idempotencyKey: "write-once",
      });
    const first = await write();
    const second = await write();
    expect(second.snapshot?.version).toBe(first.snapshot?.version);
    expect(second.snapshot?.files.map((f) => f.key)).toEqual(
      first.snapshot?.files.map((f) => f.key),
    );
    const listed = await fx.catalogFixture.storage.listObjects({ prefix: "datasets/keyed/data/" });
    expect(listed.objects.map((o) => o.key)).toEqual(first.snapshot?.files.map((f) => f.key));
  });

  it("keeps 128-bit integers exact as DECIMAL(38,0), nested ones too, and refuses what Parquet would change, creating nothing", async () => {
    const written = await fx.query.writeQueryResult({
      sql: `SELECT 12345678901234567::HUGEINT AS h, sum(id) AS total,
              '170141183460469231731687303715884105'::UHUGEINT AS u,
              {'n': [18446744073709551617::HUGEINT]} AS nested FROM sales`,
      dataset: "wide_sums",
      createIfMissing: true,
    });
    expect(written.rowCount).toBe(1n);
    const read = await fx.collect({ sql: "SELECT * FROM wide_sums", format: ResultFormat.JSON });
    expect(read.header.columns.map((c) => c.type)).toEqual([
      "DECIMAL(38,0)",
      "DECIMAL(38,0)",
      "DECIMAL(38,0)",
      "STRUCT(n DECIMAL(38,0)[])",
    ]);
    expect(read.jsonRows).toEqual([
      '{"h":"12345678901234567","total":"12497500","u":"170141183460469231731687303715884105","nested":{"n":["18446744073709551617"]}}',
    ]);
    for (const sql of [
      "SELECT INTERVAL '3.000456 seconds' AS span",
      "SELECT [INTERVAL '1 day'] AS spans",
      "SELECT union_value(k := 1) AS u",
    ]) {
      const error = await failure(
        fx.query.writeQueryResult({ sql, dataset: "refused_types", createIfMissing: true }),
      );
      expect(error.code, sql).toBe(Code.InvalidArgument);
      expect(errorReason(error), sql).toBe("UNSUPPORTED_RESULT_TYPE");
    }
    const missing = await failure(fx.catalogFixture.catalog.getDataset({ name: "refused_types" }));
    expect(missing.code).toBe(Code.NotFound);
  });

  it("fails with NOT_FOUND for a missing dataset without create_if_missing and leaves no data file", async () => {
    const error = await failure(
      fx.query.writeQueryResult({ sql: "SELECT 1 AS x", dataset: "absent" }),
    );
    expect(error.code).toBe(Code.NotFound);
    const listed = await fx.catalogFixture.storage.listObjects({ prefix: "datasets/absent/" });
    expect(listed.objects).toEqual([]);
  });
});
