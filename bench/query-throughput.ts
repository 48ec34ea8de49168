/**
 * Query throughput: starts the whole system (five processes), ingests a
 * generated ~3M-row Parquet file through the gateway, and compares what a
 * client gets through the gateway with what DuckDB does in-process on the
 * same local file, measured in the same run:
 *
 *   (a) a warm GROUP BY: gateway median ÷ in-process median (target ≤ 1.10).
 *       Warm means queryd has the file cached and its columnar copy made
 *       (queryd.columnarCopies, on by default), which the bench waits for;
 *       a second queryd with copies off times the same GROUP BY over the
 *       cached Parquet file, for context;
 *   (b) `SELECT *` as Arrow: gateway rows/s ÷ in-process DuckDB→Arrow rows/s
 *       with the project's own encoder (target ≥ 0.5);
 *   (c) the same through JSON rows: Arrow rows/s ÷ JSON rows/s (target ≥ 3);
 *   (d) queryd's and the gateway's RSS during (b), baseline → peak: bounded
 *       means well under the result's size (a server that buffers a result
 *       grows by all of it), here under half of it. V8 lets some 64 MiB of
 *       dead message buffers pile up between collections, so smaller
 *       results are not a meaningful test of this; tests/backpressure.test.ts
 *       is.
 *
 * Measurements that are compared run in turns, so load from elsewhere on the
 * machine hits both sides alike. For context it also times the GROUP BY
 * straight to queryd, a `count(*)` through the gateway (the fixed cost of a
 * query: resolution, catalog lookup, hops), a `SELECT 1` through the gateway
 * (the calls alone: the least any query pays over in-process DuckDB) and
 * catalogd's GetDataset, reads
 * `SELECT *` straight from queryd, and measures a raw node:http2 loopback
 * stream between two processes carrying the same bytes in messages of the
 * same size. It prints figures and ratios and always exits 0: absolute times
 * depend on the machine.
 *
 *   npm run bench -- query-throughput
 *   node --initial-heap-size=128 --import tsx bench/query-throughput.ts [rows]
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Client } from "@connectrpc/connect";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { type QueryService, ResultFormat } from "../gen/lakehouse/query/v1/query_pb.js";
import { localKeyFiles } from "../services/kit/identity/local-keys.js";
import { sqlString } from "../services/kit/sql-text.js";
import { createArrowResultEncoder } from "../services/queryd/result/index.js";
import { gatewayClients } from "../tests/support/gateway-clients.js";
import { uploadAndIngest, writeSalesParquet } from "../tests/support/generated-sales.js";
import { peerClients } from "../tests/support/peer-clients.js";
import { cpuMilliseconds } from "../tests/support/process-cpu.js";
import { sampleRss } from "../tests/support/process-memory.js";
import { loggedEventually, startServiceProcess } from "../tests/support/service-process.js";
import { startSystem } from "../tests/support/system.js";

const MiB = 1024 * 1024;
const DATASET = "bench_sales";
const GROUP_BY = (table: string) =>
  `SELECT category, count(*) AS n, sum(amount) AS total, avg(price) AS mean_price,
          min(day) AS first_day, max(ts) AS last_ts
   FROM ${table} GROUP BY category`;
const SELECT_ALL = (table: string) => `SELECT * FROM ${table}`;
const WARMUPS = 2;
const GROUP_BY_RUNS = 9;
const STREAM_RUNS = 5;

type QueryClient = Client<typeof QueryService>;

/** What one streamed read of a result amounted to. */
interface StreamRead {
  rows: number;
  /** Result payload bytes (Arrow IPC bytes, or the UTF-8 size of JSON rows). */
  bytes: number;
  messages: number;
  seconds: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const seconds = (since: number) => (performance.now() - since) / 1000;

/** Reads a whole result, touching every message as a client must; counts rows from row_count. */
async function readStream(
  client: QueryClient,
  sql: string,
  format: ResultFormat = ResultFormat.ARROW_IPC,
): Promise<StreamRead> {
  const started = performance.now();
  let rows = 0;
  let bytes = 0;
  let messages = 0;
  for await (const response of client.executeQuery({ sql, format })) {
    messages++;
    const payload = response.payload;
    if (payload.case === undefined) continue;
    bytes += payload.value.arrowIpc.byteLength;
    if (payload.case === "batch") {
      rows += Number(payload.value.rowCount);
      for (const row of payload.value.jsonRows) bytes += Buffer.byteLength(row);
    }
  }
  return { rows, bytes, messages, seconds: seconds(started) };
}

/** In-process DuckDB → Arrow IPC with queryd's own encoder: the conversion's ceiling. */
async function encodeInProcess(connection: DuckDBConnection, sql: string): Promise<StreamRead> {
  const started = performance.now();
  const result = await connection.stream(sql);
  const encoder = createArrowResultEncoder(result.columnNames(), result.columnTypes());
  let bytes = encoder.schemaMessage().byteLength;
  let rows = 0;
  let messages = 1;
  const count = (batches: { bytes: Uint8Array; rowCount: number }[]) => {
    for (const batch of batches) {
      bytes += batch.bytes.byteLength;
      rows += batch.rowCount;
      messages++;
    }
  };
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    count(encoder.encode(chunk));
  }
  count(encoder.flush());
  bytes += encoder.endOfStream().byteLength;
  return { rows, bytes, messages: messages + 1, seconds: seconds(started) };
}

/**
 * Runs each named work `runs` times after `warmups`, in turns (a, b, c, a,
 * b, c, ...) so that load from elsewhere on the machine hits each alike.
 */
async function inTurns<T>(
  runs: number,
  warmups: number,
  works: Record<string, () => Promise<T>>,
): Promise<Record<string, T[]>> {
  const results: Record<string, T[]> = Object.fromEntries(Object.keys(works).map((k) => [k, []]));
  for (let i = 0; i < warmups + runs; i++) {
    for (const [name, work] of Object.entries(works)) {
      const result = await work();
      if (i >= warmups) results[name]!.push(result);
    }
  }
  return results;
}

/** The read with the median time. */
const medianOf = (reads: StreamRead[]) =>
  [...reads].sort((a, b) => a.seconds - b.seconds)[reads.length >> 1]!;

const timed = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return seconds(started);
};

const ms = (value: number) => `${(value * 1e3).toFixed(1)} ms`;

// ---------------------------------------------------------------------------
// Raw loopback ceiling: an h2c server in a child process sends `bytes` in
// messages of `messageBytes` on one stream; this process reads and discards.

const LOOPBACK_SERVER = "--loopback-server";

function serveLoopback(): void {
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const total = Number(headers["x-bytes"]);
    const size = Number(headers["x-message-bytes"]);
    const message = Buffer.alloc(size, 7);
    stream.respond({ ":status": 200 });
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const part = message.subarray(0, Math.min(size, total - sent));
        sent += part.byteLength;
        if (!stream.write(part)) return void stream.once("drain", pump);
      }
      stream.end();
    };
    pump();
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    process.stdout.write(`${address.port}\n`);
  });
  process.on("SIGTERM", () => process.exit(0));
}

async function loopbackCeiling(bytes: number, messageBytes: number): Promise<StreamRead> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", import.meta.filename, LOOPBACK_SERVER],
    {
      cwd: path.resolve(import.meta.dirname, ".."),
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    const lines = createInterface({ input: child.stdout! });
    const port = await new Promise<string>((resolve) => lines.once("line", resolve));
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const read = async () => {
        const started = performance.now();
        const stream = session.request({
          ":path": "/",
          "x-bytes": String(bytes),
          "x-message-bytes": String(messageBytes),
        });
        let received = 0;
        let messages = 0;
        for await (const chunk of stream) {
          received += (chunk as Buffer).byteLength;
          messages++;
        }
        return { rows: 0, bytes: received, messages, seconds: seconds(started) };
      };
      return medianOf((await inTurns(STREAM_RUNS, 1, { read })).read!);
    } finally {
      session.close();
    }
  } finally {
    child.kill("SIGTERM");
  }
}

// ---------------------------------------------------------------------------

/** One line of the printed table; context lines have no target. */
interface Row {
  figure: string;
  value: string;
  target?: string;
  status?: "PASS" | "MISS";
}

function printTable(rows: Row[]): void {
  const cells = rows.map((row) => [row.figure, row.value, row.target ?? "", row.status ?? ""]);
  const header = ["figure", "value", "target", "status"];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...cells.map((line) => line[i]!.length)),
  );
  for (const line of [header, ...cells]) {
    console.log(
      line
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
  }
}

const fmtRate = (rowsPerSecond: number) => `${(rowsPerSecond / 1e6).toFixed(2)} M rows/s`;
const fmtMBps = (read: StreamRead) => `${(read.bytes / 1e6 / read.seconds).toFixed(0)} MB/s`;
const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const rate = (read: StreamRead) => read.rows / read.seconds;

async function main(rowTotal: number): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), "bench-query-"));
  const file = path.join(scratch, "sales.parquet");
  let started = performance.now();
  await writeSalesParquet(file, rowTotal);
  const fileBytes = (await stat(file)).size;
  console.log(
    `generated ${rowTotal} rows, ${fmtMiB(fileBytes)} Parquet in ${seconds(started).toFixed(1)} s`,
  );
  const system = await startSystem();
  // The same queryd reading the cached Parquet files only, for context.
  const parquetOnly = await startServiceProcess("queryd", {
    LAKEHOUSE_CONFIG: "",
    LAKEHOUSE_QUERYD_INTERNAL_AUTH_SECRET_FILE: localKeyFiles(system.dataDirectory)
      .internalSecretFile,
    LAKEHOUSE_QUERYD_CATALOG_URL: system.catalogd.url.origin,
    LAKEHOUSE_QUERYD_STORAGE_URL: system.storaged.url.origin,
    LAKEHOUSE_QUERYD_CACHE_DIRECTORY: path.join(system.dataDirectory, "parquet-only-cache"),
    LAKEHOUSE_QUERYD_TEMP_DIRECTORY: path.join(system.dataDirectory, "parquet-only-tmp"),
    LAKEHOUSE_QUERYD_COLUMNAR_COPIES: "false",
  });
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const connection = await instance.connect();
  try {
    const clients = gatewayClients(system.gateway.url);
    const { query: direct, catalog } = await peerClients(system);
    const { query: directParquet } = await peerClients({ ...system, queryd: parquetOnly });
    started = performance.now();
    await uploadAndIngest(clients, file, DATASET);
    console.log(`uploaded and ingested through the gateway in ${seconds(started).toFixed(1)} s`);
    const local = `read_parquet(${sqlString(file)})`;
    const expectRows = (read: StreamRead, rows: number, what: string) => {
      if (read.rows !== rows) throw new Error(`${what} answered ${read.rows} rows, not ${rows}`);
      return read;
    };

    // Warm: the file cached, read twice, and its columnar copy made.
    for (let i = 0; i < 2; i++) await readStream(clients.query, GROUP_BY(DATASET));
    started = performance.now();
    await loggedEventually(system.queryd, "columnar copy made");
    console.log(`columnar copy made ${seconds(started).toFixed(1)} s after the second read`);

    // (a) the warm GROUP BY; the rest of the turn splits the gateway's time up.
    // CPU time (all threads) the two sides of (a) spend: this process alone
    // in-process; this process and every service through the gateway. Read
    // outside the timed parts.
    const servicePids = [
      system.storaged,
      system.catalogd,
      system.queryd,
      system.aibridge,
      system.gateway,
    ].map((service) => service.child.pid ?? 0);
    const ownCpuMs = () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    };
    const systemCpuMs = () =>
      ownCpuMs() + servicePids.reduce((sum, pid) => sum + cpuMilliseconds(pid), 0);
    const cpuSpent = { gateway: 0, inProcess: 0 };
    const metered =
      (side: keyof typeof cpuSpent, meter: () => number, work: () => Promise<number>) =>
      async () => {
        const before = meter();
        const elapsed = await work();
        cpuSpent[side] += meter() - before;
        return elapsed;
      };
    const group = await inTurns(GROUP_BY_RUNS, WARMUPS, {
      gateway: metered("gateway", systemCpuMs, () =>
        timed(async () =>
          expectRows(await readStream(clients.query, GROUP_BY(DATASET)), 50, "GROUP BY"),
        ),
      ),
      inProcess: metered("inProcess", ownCpuMs, () =>
        timed(() => connection.runAndReadAll(GROUP_BY(local))),
      ),
      direct: () =>
        timed(async () => expectRows(await readStream(direct, GROUP_BY(DATASET)), 50, "GROUP BY")),
      directParquet: () =>
        timed(async () =>
          expectRows(await readStream(directParquet, GROUP_BY(DATASET)), 50, "GROUP BY"),
        ),
      fixedCost: () => timed(() => readStream(clients.query, `SELECT count(*) FROM ${DATASET}`)),
      hops: () => timed(() => readStream(clients.query, "SELECT 1")),
      catalogLookup: () => timed(() => catalog.getDataset({ name: DATASET })),
    });
    const groupMedian = Object.fromEntries(
      Object.entries(group).map(([name, times]) => [name, median(times)]),
    ) as Record<keyof typeof group, number>;
    const groupRatio = groupMedian.gateway! / groupMedian.inProcess!;
    const cpuPerQuery = {
      gateway: cpuSpent.gateway / (GROUP_BY_RUNS + WARMUPS),
      inProcess: cpuSpent.inProcess / (GROUP_BY_RUNS + WARMUPS),
    };

    // (b) SELECT * as Arrow, in turns with the in-process conversion, with
    // queryd's and the gateway's RSS sampled every 50 ms.
    await readStream(clients.query, SELECT_ALL(DATASET));
    await encodeInProcess(connection, SELECT_ALL(local));
    const querydRss = await sampleRss(system.queryd.child.pid!, 50);
    const gatewayRss = await sampleRss(system.gateway.child.pid!, 50);
    const stream = await inTurns(STREAM_RUNS, 0, {
      gateway: async () =>
        expectRows(await readStream(clients.query, SELECT_ALL(DATASET)), rowTotal, "SELECT *"),
      inProcess: async () =>
        expectRows(await encodeInProcess(connection, SELECT_ALL(local)), rowTotal, "DuckDB"),
    });
    const querydPeak = await querydRss.stop();
    const gatewayPeak = await gatewayRss.stop();
    const arrow = medianOf(stream.gateway!);
    const inProcess = medianOf(stream.inProcess!);
    const directArrow = medianOf(
      (
        await inTurns(STREAM_RUNS, 0, {
          direct: async () =>
            expectRows(await readStream(direct, SELECT_ALL(DATASET)), rowTotal, "queryd"),
        })
      ).direct!,
    );

    // (c) the same through JSON rows.
    const json = medianOf(
      (
        await inTurns(STREAM_RUNS, 0, {
          json: async () =>
            expectRows(
              await readStream(clients.query, SELECT_ALL(DATASET), ResultFormat.JSON),
              rowTotal,
              "JSON",
            ),
        })
      ).json!,
    );

    // Context: raw node:http2 between two processes, same bytes, same message size.
    const messageBytes = Math.round(arrow.bytes / Math.max(1, arrow.messages));
    const loopback = await loopbackCeiling(arrow.bytes, messageBytes);

    const arrowRatio = rate(arrow) / rate(inProcess);
    const jsonRatio = rate(arrow) / rate(json);
    const querydGrowth = querydPeak - querydRss.baseline;
    const gatewayGrowth = gatewayPeak - gatewayRss.baseline;
    const table: Row[] = [
      {
        figure: "(a) GROUP BY gateway / in-process",
        value: `${groupRatio.toFixed(2)} (${ms(groupMedian.gateway!)} / ${ms(groupMedian.inProcess!)})`,
        target: "<= 1.10",
        status: groupRatio <= 1.1 ? "PASS" : "MISS",
      },
      {
        figure: "    CPU per GROUP BY, all processes",
        value: `${cpuPerQuery.gateway.toFixed(0)} ms via gateway, ${cpuPerQuery.inProcess.toFixed(0)} ms in-process (${(cpuPerQuery.gateway / cpuPerQuery.inProcess).toFixed(2)}x)`,
      },
      { figure: "    GROUP BY direct to queryd", value: ms(groupMedian.direct!) },
      {
        figure: "    same, Parquet only (copies off)",
        value: `${ms(groupMedian.directParquet!)}: ${(groupMedian.directParquet! / groupMedian.inProcess!).toFixed(2)} x in-process`,
      },
      { figure: "    count(*) via gateway (fixed cost)", value: ms(groupMedian.fixedCost!) },
      {
        figure: "    SELECT 1 via gateway (hops alone)",
        value: ms(groupMedian.hops!),
      },
      { figure: "    catalogd GetDataset, direct", value: ms(groupMedian.catalogLookup!) },
      {
        figure: "(b) SELECT * Arrow via gateway",
        value: `${fmtRate(rate(arrow))}, ${fmtMBps(arrow)}`,
      },
      {
        figure: "    in-process DuckDB->Arrow",
        value: `${fmtRate(rate(inProcess))}, ${fmtMBps(inProcess)}`,
      },
      {
        figure: "(b) Arrow gateway / in-process",
        value: arrowRatio.toFixed(2),
        target: ">= 0.50",
        status: arrowRatio >= 0.5 ? "PASS" : "MISS",
      },
      {
        figure: "    Arrow direct to queryd",
        value: `${fmtRate(rate(directArrow))}, ${fmtMBps(directArrow)}`,
      },
      {
        figure: `    raw h2c loopback, ${(messageBytes / MiB).toFixed(1)} MiB messages`,
        value: `${fmtMBps(loopback)}, ${fmtMiB(loopback.bytes)} in ${loopback.seconds.toFixed(2)} s`,
      },
      {
        figure: "(c) SELECT * JSON via gateway",
        value: `${fmtRate(rate(json))}, ${fmtMBps(json)}`,
      },
      {
        figure: "(c) Arrow / JSON",
        value: jsonRatio.toFixed(2),
        target: ">= 3",
        status: jsonRatio >= 3 ? "PASS" : "MISS",
      },
      {
        figure: "(d) queryd RSS during (b)",
        value: `${fmtMiB(querydRss.baseline)} -> ${fmtMiB(querydPeak)}`,
        target: `growth < result/2 (${fmtMiB(arrow.bytes / 2)})`,
        status: querydGrowth < arrow.bytes / 2 ? "PASS" : "MISS",
      },
      {
        figure: "(d) gateway RSS during (b)",
        value: `${fmtMiB(gatewayRss.baseline)} -> ${fmtMiB(gatewayPeak)}`,
        target: `growth < result/2 (${fmtMiB(arrow.bytes / 2)})`,
        status: gatewayGrowth < arrow.bytes / 2 ? "PASS" : "MISS",
      },
    ];
    console.log(
      `result of SELECT *: ${rowTotal} rows; Arrow ${fmtMiB(arrow.bytes)} in ${arrow.messages} ` +
        `messages, JSON ${fmtMiB(json.bytes)} in ${json.messages} messages`,
    );
    printTable(table);
    console.log(
      JSON.stringify({
        bench: "query-throughput",
        rows: rowTotal,
        groupByMs: Object.fromEntries(
          Object.entries(groupMedian).map(([name, value]) => [name, value * 1e3]),
        ),
        groupByRatio: groupRatio,
        groupByCpuMsPerQuery: cpuPerQuery,
        arrowRowsPerSecond: {
          gateway: rate(arrow),
          inProcess: rate(inProcess),
          direct: rate(directArrow),
        },
        arrowRatio,
        jsonRowsPerSecond: rate(json),
        arrowOverJson: jsonRatio,
        arrowBytes: arrow.bytes,
        arrowMessages: arrow.messages,
        loopbackMBps: loopback.bytes / 1e6 / loopback.seconds,
        querydRss: [querydRss.baseline, querydPeak],
        gatewayRss: [gatewayRss.baseline, gatewayPeak],
      }),
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
    await parquetOnly.stop();
    await system.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[2] === LOOPBACK_SERVER) {
  serveLoopback();
} else {
  const rowTotal = Number(process.argv[2] ?? 3_000_000);
  // Figures, not a gate: a failure to measure is reported, never an exit code.
  await main(rowTotal).catch((error: unknown) => {
    console.error("query-throughput could not finish:", error);
  });
  process.exitCode = 0;
}
