import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResultFormat } from "../gen/lakehouse/query/v1/query_pb.js";
import { collectQuery, gatewayClients } from "./support/gateway-clients.js";
import { uploadAndIngest, writeSalesParquet } from "./support/generated-sales.js";
import { type RssSampler, sampleRss } from "./support/process-memory.js";
import { type RunningSystem, startSystem } from "./support/system.js";

const ROWS = 3_000_000;
const MiB = 1024 * 1024;
/**
 * Every generated column plus eight computed fixed-width ones: ~380 MiB of
 * Arrow for 3M rows, so a server that held the result would stand out far
 * above the few batches a streaming one keeps in flight.
 */
const WIDE_SELECT = `SELECT *, id * 2 AS id2, id * 3 AS id3, price * 2 AS price2, price * 3 AS price3,
  qty * 2 AS qty2, qty * 3 AS qty3, ts + INTERVAL 1 DAY AS ts2, amount * 2 AS amount2 FROM sales`;
const work = mkdtempSync(join(tmpdir(), "backpressure-"));

let system: RunningSystem;
let clients: ReturnType<typeof gatewayClients>;

beforeAll(async () => {
  const file = join(work, "sales.parquet");
  await writeSalesParquet(file, ROWS);
  // One DuckDB connection: a query that does not give its connection back
  // makes every later query wait.
  system = await startSystem({ queryd: { LAKEHOUSE_QUERYD_POOL_SIZE: "1" } });
  clients = gatewayClients(system.gateway.url);
  await uploadAndIngest(clients, file, "sales");
  // Fetches the file into queryd's cache and runs the wide query's code paths
  // once, so later RSS growth is the result stream's alone.
  const warm = await collectQuery(clients.query, { sql: `${WIDE_SELECT} LIMIT 300000` });
  expect(warm.summary.rowCount).toBe(300_000n);
}, 120_000);

afterAll(async () => {
  await system?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** What a deliberately slow reader saw. */
interface SlowRead {
  rows: number;
  /** Arrow IPC bytes received: what a server that buffered the whole result would hold. */
  bytes: number;
  summaryRows: bigint;
}

/**
 * Reads the wide 3M-row result through the gateway as a slow client: three
 * messages, then nothing for 3 s, then a pause after every message.
 */
async function readSlowly(): Promise<SlowRead> {
  let rows = 0;
  let bytes = 0;
  let summaryRows = -1n;
  let messages = 0;
  for await (const response of clients.query.executeQuery({ sql: WIDE_SELECT })) {
    messages++;
    const payload = response.payload;
    if (payload.case === undefined) continue;
    bytes += payload.value.arrowIpc.byteLength;
    if (payload.case === "batch") rows += Number(payload.value.rowCount);
    if (payload.case === "summary") summaryRows = payload.value.rowCount;
    await sleep(messages === 3 ? 3_000 : 10);
  }
  return { rows, bytes, summaryRows };
}

/** Starts a query that is then abandoned: resolves once `messages` have arrived. */
function startAbandonedQuery(messages: number) {
  const controller = new AbortController();
  let received = 0;
  let reachedMessages: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    reachedMessages = resolve;
  });
  const outcome = (async () => {
    for await (const _ of clients.query.executeQuery(
      { sql: WIDE_SELECT },
      { signal: controller.signal },
    )) {
      received++;
      if (received === messages) reachedMessages();
      // Reads no further than asked: the rest waits in flow control until the abort.
      if (received >= messages) await sleep(60_000, undefined, { signal: controller.signal });
    }
  })().then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
  return { controller, reached, outcome };
}

describe("a large result read through the gateway", () => {
  it("keeps queryd's and the gateway's memory bounded for a slow client, which still gets every row", async () => {
    const samplers: RssSampler[] = [
      await sampleRss(system.queryd.child.pid!),
      await sampleRss(system.gateway.child.pid!),
    ];
    const read = await readSlowly();
    const [querydPeak, gatewayPeak] = await Promise.all(samplers.map((s) => s.stop()));
    const querydGrowth = querydPeak! - samplers[0]!.baseline;
    const gatewayGrowth = gatewayPeak! - samplers[1]!.baseline;

    expect(read.rows).toBe(ROWS);
    expect(read.summaryRows).toBe(BigInt(ROWS));
    // A server that buffered the result for this client would hold all of it.
    expect(read.bytes).toBeGreaterThan(300 * MiB);
    const bound = Math.min(read.bytes / 3, 300 * MiB);
    const context = `result ${(read.bytes / MiB).toFixed(0)} MiB, bound ${(bound / MiB).toFixed(0)} MiB`;
    console.info(
      `slow client: ${context}; queryd +${(querydGrowth / MiB).toFixed(0)} MiB, gateway +${(gatewayGrowth / MiB).toFixed(0)} MiB`,
    );
    expect(querydGrowth, `queryd RSS growth; ${context}`).toBeLessThan(bound);
    expect(gatewayGrowth, `gateway RSS growth; ${context}`).toBeLessThan(bound);
  }, 60_000);

  it("frees queryd's only connection when a client cancels mid-stream, so the next query runs", async () => {
    const abandoned = startAbandonedQuery(3);
    await Promise.race([abandoned.reached, abandoned.outcome]);
    // Long enough for queryd to fill the flow-control windows and wait for the reader.
    await sleep(500);
    abandoned.controller.abort();
    const error = await abandoned.outcome;
    expect(error?.code).toBe(Code.Canceled);

    // With the connection still held this would wait in queryd's queue until the deadline.
    const next = await collectQuery(
      clients.query,
      { sql: "SELECT count(*) AS n FROM sales", format: ResultFormat.JSON },
      { timeoutMs: 15_000 },
    );
    expect(next.jsonRows.map((row) => JSON.parse(row))).toEqual([{ n: String(ROWS) }]);
    // The abandoned query still leaves its log line, marked as stopped.
    const outcomes = system.queryd.logs.filter((line) => String(line.msg).startsWith("query "));
    expect(outcomes.map((line) => line.msg)).toContain("query stopped");
  }, 60_000);
});
