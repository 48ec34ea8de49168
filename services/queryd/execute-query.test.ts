import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LimitBehavior, QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { errorReason } from "../kit/errors.js";
import { type CallerIdentity, callerIdentityKey } from "../kit/identity/caller-identity.js";
import { createLogger } from "../kit/logger.js";
import { createQueryService } from "./query-service.js";
import { type QueryFixture, startQueryFixture } from "./testing/query-fixture.js";

const ada: CallerIdentity = { subject: "ada", scopes: [], datasets: ["*"] };
let fx: QueryFixture;
let query: ReturnType<typeof createClient<typeof QueryService>>;
/** Every line queryd logged, parsed. */
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  fx = await startQueryFixture({ poolSize: 1 });
  await fx.ingest("trips", "SELECT i, 'x' || i AS label FROM range(5000) t(i)");
  const service = createQueryService({
    catalog: fx.catalogFixture.catalog,
    storage: fx.catalogFixture.storage,
    engine: fx.engine,
    cache: fx.cache,
    limits: {
      maxResultRows: 1_000_000,
      maxResultBytes: 64 * 1024 ** 2,
      batchRows: 1_000,
      stalledReaderTimeoutMs: 60_000,
    },
    logger: createLogger({
      level: "debug",
      write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    }),
  });
  query = createClient(
    QueryService,
    createRouterTransport((router) => router.service(QueryService, service), {
      router: {
        // Served as ada, as queryd's internal credential check would.
        interceptors: [
          (next) => (request) => {
            request.contextValues.set(callerIdentityKey, ada);
            return next(request);
          },
        ],
      },
    }),
  );
}, 30_000);

afterAll(async () => {
  await fx?.close();
});

/** Runs a query that must fail: the query id of its header (if one came), its error, and its one log line. */
async function fail(
  request: Parameters<typeof query.executeQuery>[0],
): Promise<{ queryId: string | undefined; error: ConnectError; line: Record<string, unknown> }> {
  const before = lines.length;
  let queryId: string | undefined;
  try {
    for await (const response of query.executeQuery(request)) {
      if (response.payload.case === "header") queryId = response.payload.value.queryId;
    }
  } catch (error) {
    const logged = lines.slice(before).filter((line) => String(line.msg).startsWith("query "));
    expect(logged).toHaveLength(1);
    return { queryId, error: ConnectError.from(error), line: logged[0] ?? {} };
  }
  throw new Error("the query succeeded");
}

describe("the log line of a failed query", () => {
  it("carries the query id its client got in the header, with datasets, code and reason", async () => {
    const { queryId, error, line } = await fail({
      sql: "SELECT i FROM trips",
      maxRows: 10n,
      onLimit: LimitBehavior.FAIL,
    });
    expect(queryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(line).toMatchObject({
      msg: "query failed",
      level: "info",
      queryId,
      subject: "ada",
      datasets: ["trips@1"],
      code: "ResourceExhausted",
      reason: "RESULT_TOO_LARGE",
      error: error.rawMessage,
    });
    expect(line).not.toHaveProperty("stack");
  });

  it("names the datasets, code and reason of a statement DuckDB refuses while running it", async () => {
    const { error, line } = await fail({ sql: "SELECT CAST(label AS INTEGER) FROM trips" });
    expect(error.code).toBe(Code.InvalidArgument);
    expect(line).toMatchObject({
      msg: "query failed",
      queryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      datasets: ["trips@1"],
      code: "InvalidArgument",
      reason: errorReason(error),
      error: error.rawMessage,
    });
  });

  it("is written for a statement refused before it runs, too", async () => {
    const { error, line } = await fail({ sql: "SELEC i FROM trips" });
    expect(error.code).toBe(Code.InvalidArgument);
    expect(line).toMatchObject({
      msg: "query failed",
      level: "info",
      queryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      subject: "ada",
      datasets: [],
      code: "InvalidArgument",
      reason: errorReason(error),
    });
  });
});
