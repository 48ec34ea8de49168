import { randomBytes } from "node:crypto";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { errorReason } from "../kit/errors.js";
import {
  type CallerIdentity,
  callingAs,
  requireIdentity,
} from "../kit/identity/caller-identity.js";
import { createInternalAuth } from "../kit/identity/internal-auth.js";
import { createQueryService } from "./query-service.js";
import { type QueryFixture, startQueryFixture } from "./testing/query-fixture.js";

let fx: QueryFixture;
let query: ReturnType<typeof createClient<typeof QueryService>>;

const caller = (datasets: string[]): { contextValues: ReturnType<typeof callingAs> } => ({
  contextValues: callingAs({ subject: "ana", scopes: ["query"], datasets } as CallerIdentity),
});

beforeAll(async () => {
  fx = await startQueryFixture();
  await fx.ingest("sales", "SELECT range AS id, 'item-' || (range % 3) AS item FROM range(30)");
  await fx.ingest("items", "SELECT 'item-' || range AS item, range AS rank FROM range(3)");
  // queryd as its main wires it: internal credential required, grants from the caller.
  const secret = new Uint8Array(randomBytes(32));
  const service = createQueryService({
    catalog: fx.catalogFixture.catalog,
    storage: fx.catalogFixture.storage,
    engine: fx.engine,
    cache: fx.cache,
    limits: {
      maxResultRows: 1000,
      maxResultBytes: 1 << 20,
      batchRows: 100,
      stalledReaderTimeoutMs: 0,
    },
    callerOf: (context) => requireIdentity(context.values),
  });
  query = createClient(
    QueryService,
    createRouterTransport((router) => router.service(QueryService, service), {
      router: {
        interceptors: [createInternalAuth({ service: "queryd", secret }).serverInterceptor],
      },
      transport: {
        interceptors: [createInternalAuth({ service: "gateway", secret }).clientInterceptor],
      },
    }),
  );
});

afterAll(async () => {
  await fx?.close();
});

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => ConnectError.from(error),
  );
}

const rows = (sql: string, datasets: string[]) =>
  fx.collect({ sql }, { client: query, ...caller(datasets) });

describe("query dataset grants", () => {
  it("runs a statement over granted datasets", async () => {
    const result = await rows("SELECT count(*) AS n FROM sales", ["sales"]);
    expect(result.summary.rowCount).toBe(1n);
    const joined = await rows("SELECT count(*) AS n FROM sales JOIN items USING (item)", [
      "sales",
      "item*",
    ]);
    expect(joined.header.receipts.map((r) => r.dataset).sort()).toEqual(["items", "sales"]);
  });

  it.each([
    ["a join", "SELECT * FROM sales JOIN items USING (item)"],
    ["a subquery", "SELECT * FROM sales WHERE item IN (SELECT item FROM items)"],
    ["a CTE", "WITH x AS (SELECT * FROM items) SELECT * FROM x"],
    ["a pinned version", "SELECT * FROM items AT (VERSION => 1)"],
    ["a dataset that does not exist", "SELECT * FROM payroll"],
  ])(
    "refuses %s reaching a dataset outside the grants with PERMISSION_DENIED",
    async (_what, sql) => {
      const error = await refusal(rows(sql, ["sales"]));
      expect(error.code).toBe(Code.PermissionDenied);
      expect(errorReason(error)).toBe("DATASET_NOT_GRANTED");
    },
  );

  it("refuses ExplainQuery and WriteQueryResult the same way", async () => {
    const explain = await refusal(
      query.explainQuery({ sql: "SELECT * FROM items" }, caller(["sales"])),
    );
    expect(explain.code).toBe(Code.PermissionDenied);
    const write = await refusal(
      query.writeQueryResult(
        { sql: "SELECT * FROM sales", dataset: "items", createIfMissing: true },
        caller(["sales"]),
      ),
    );
    expect(write.code).toBe(Code.PermissionDenied);
    expect(errorReason(write)).toBe("DATASET_NOT_GRANTED");
  });

  it("grants nothing to a call made on no caller's behalf", async () => {
    const error = await refusal(fx.collect({ sql: "SELECT 1 FROM sales" }, { client: query }));
    expect(error.code).toBe(Code.PermissionDenied);
  });
});
