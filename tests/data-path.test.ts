import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DuckDBInstance } from "@duckdb/node-api";
import * as grpc from "@grpc/grpc-js";
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ExecuteQueryRequestSchema,
  ExecuteQueryResponseSchema,
  ResultFormat,
} from "../gen/lakehouse/query/v1/query_pb.js";
import { putObject } from "../services/storaged/client.js";
import { canonicalRows, duckdbReference } from "./support/duckdb-reference.js";
import { bufCurl, collectQuery, gatewayClients } from "./support/gateway-clients.js";
import { loggedEventually } from "./support/service-process.js";
import { type RunningSystem, startSystem } from "./support/system.js";

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "data-path-"));
const salesFile = join(work, "sales.parquet");
const regionsFile = join(work, "regions.csv");
const moreSalesFile = join(work, "sales-2.parquet");

/** Writes the test files with DuckDB: typed columns, NULLs, and enough rows for many batches. */
async function makeFiles() {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const sales = (from: number, to: number) => `
    SELECT i::BIGINT AS id,
           ['north','south','east','west', NULL][i % 5 + 1] AS region,
           ((i % 1000) / 7)::DECIMAL(18,2) AS amount,
           (i % 13)::INTEGER AS qty,
           DATE '2024-01-01' + (i % 366)::INTEGER AS day,
           TIMESTAMP '2024-01-01 00:00:00' + to_microseconds(i * 1000003) AS ts,
           CASE WHEN i % 11 = 0 THEN NULL ELSE i % 2 = 0 END AS flag,
           i / 3.0 AS score
    FROM range(${from}, ${to}) t(i)`;
  await connection.run(`COPY (${sales(0, 150_000)}) TO '${salesFile}' (FORMAT parquet)`);
  await connection.run(`COPY (${sales(150_000, 160_000)}) TO '${moreSalesFile}' (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
  writeFileSync(
    regionsFile,
    "region,manager,target\nnorth,Ada,100.5\nsouth,Grace,200\neast,Linus,300.25\nwest,Barbara,50\n",
  );
}

let system: RunningSystem;
let clients: ReturnType<typeof gatewayClients>;

async function ingest(file: string, dataset: string, key: string) {
  await putObject(clients.storage, key, readFileSync(file));
  const { snapshot } = await clients.catalog.ingestObject({
    dataset,
    sourceKey: key,
    createIfMissing: true,
  });
  return snapshot;
}

beforeAll(async () => {
  await makeFiles();
  system = await startSystem();
  clients = gatewayClients(system.gateway.url);
  await ingest(salesFile, "sales", "uploads/sales.parquet");
  await ingest(regionsFile, "regions", "uploads/regions.csv");
}, 120_000);

afterAll(async () => {
  const codes = await system?.stop();
  expect(Object.values(codes ?? {})).toEqual([0, 0, 0, 0, 0]);
});

/** The same SQL over the local files, for in-process DuckDB. */
const local = (sql: string) =>
  sql
    .replaceAll("{sales}", `read_parquet('${salesFile}')`)
    .replaceAll("{regions}", `read_csv_auto('${regionsFile}')`);
const remote = (sql: string) =>
  sql.replaceAll("{sales}", "sales").replaceAll("{regions}", "regions");

const aggregates = [
  `SELECT region, count(*) AS n, sum(amount) AS total, avg(qty) AS mean_qty, min(day) AS first_day,
          max(ts) AS last_ts, count(flag) AS flags, sum(score) AS score
   FROM {sales} GROUP BY region ORDER BY region NULLS FIRST`,
  `SELECT id, region, amount, qty, day, ts, flag, score FROM {sales} ORDER BY id`,
  `SELECT day, sum(amount) FILTER (WHERE flag) AS flagged, median(score) AS med,
          quantile_cont(qty, 0.9) AS p90, string_agg(DISTINCT region, ',' ORDER BY region) AS regions
   FROM {sales} GROUP BY day ORDER BY day LIMIT 50`,
  `SELECT s.region, r.manager, count(*) AS n, sum(s.amount) AS total, any_value(r.target) AS target
   FROM {sales} s JOIN {regions} r ON s.region = r.region GROUP BY ALL ORDER BY s.region`,
];

describe("the data path through the gateway", () => {
  it.each(aggregates)(
    "answers exactly as DuckDB does, value for value and type for type: %s",
    async (sql) => {
      const answer = await collectQuery(clients.query, { sql: remote(sql) });
      const reference = await duckdbReference(local(sql));
      const table = answer.table();
      expect(table.schema.fields.map((f) => f.name)).toEqual(reference.columnNames);
      expect(table.schema.fields.map((f) => String(f.type))).toEqual(reference.arrowTypes);
      expect(canonicalRows(table)).toEqual(reference.rows);
      expect(answer.summary.rowCount).toBe(BigInt(reference.rows.length));
      expect(answer.header.receipts.map((r) => r.dataset).sort()).toEqual(
        sql.includes("{regions}") ? ["regions", "sales"] : ["sales"],
      );
    },
  );

  it("answers the same once queryd scans its columnar copy of sales", async () => {
    // The aggregates above read sales more than once; regions is too small for a copy.
    await loggedEventually(system.queryd, "columnar copy made", 30_000);
    for (const sql of aggregates) {
      const { plan } = await clients.query.explainQuery({ sql: remote(sql) });
      expect(plan).toContain("SEQ_SCAN");
      expect(plan.includes("READ_PARQUET")).toBe(sql.includes("{regions}"));
      const answer = await collectQuery(clients.query, { sql: remote(sql) });
      const reference = await duckdbReference(local(sql));
      const table = answer.table();
      expect(table.schema.fields.map((f) => String(f.type))).toEqual(reference.arrowTypes);
      expect(canonicalRows(table)).toEqual(reference.rows);
    }
  });

  it("streams JSON rows with no precision lost", async () => {
    const answer = await collectQuery(clients.query, {
      sql: "SELECT id, amount FROM sales WHERE id IN (0, 149999) ORDER BY id",
      format: ResultFormat.JSON,
    });
    expect(answer.jsonRows.map((row) => JSON.parse(row))).toEqual([
      { id: "0", amount: "0.00" },
      { id: "149999", amount: String((999 / 7).toFixed(2)) },
    ]);
  });

  it("serves the same stream to @grpc/grpc-js", async () => {
    const sql = aggregates[0]!.replaceAll("{sales}", "sales");
    const channel = new grpc.Client(system.gateway.url.host, grpc.credentials.createInsecure());
    try {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${system.adminToken}`);
      const call = channel.makeServerStreamRequest(
        "/lakehouse.query.v1.QueryService/ExecuteQuery",
        (value: Uint8Array) => Buffer.from(value),
        (bytes: Buffer) => new Uint8Array(bytes),
        toBinary(ExecuteQueryRequestSchema, create(ExecuteQueryRequestSchema, { sql })),
        metadata,
      );
      const parts: Uint8Array[] = [];
      for await (const message of call as AsyncIterable<Uint8Array>) {
        const payload = fromBinary(ExecuteQueryResponseSchema, message).payload;
        if (payload.case) parts.push(payload.value.arrowIpc);
      }
      const viaGrpcJs = canonicalRows(tableFromIPC(Buffer.concat(parts)));
      const reference = await duckdbReference(local(aggregates[0]!));
      expect(viaGrpcJs).toEqual(reference.rows);
    } finally {
      channel.close();
    }
  });

  it("lists the four public services through reflection and answers buf curl", async () => {
    const services = (await bufCurl(["--list-services", system.gateway.url.origin]))
      .trim()
      .split("\n");
    expect(services).toEqual(
      expect.arrayContaining([
        "lakehouse.storage.v1.StorageService",
        "lakehouse.catalog.v1.CatalogService",
        "lakehouse.query.v1.QueryService",
        "lakehouse.ai.v1.AiService",
        "grpc.health.v1.Health",
      ]),
    );
    const output = await bufCurl([
      "-d",
      JSON.stringify({
        sql: "SELECT region, count(*) AS n FROM sales GROUP BY region ORDER BY region",
        format: "RESULT_FORMAT_JSON",
      }),
      `${system.gateway.url.origin}/lakehouse.query.v1.QueryService/ExecuteQuery`,
    ]);
    const messages = output
      .split(/\n(?=\{)/)
      .map((text) => JSON.parse(text) as { batch?: { jsonRows?: string[] } });
    const rows = messages.flatMap((m) => m.batch?.jsonRows ?? []).map((row) => JSON.parse(row));
    expect(rows).toEqual([
      { region: "east", n: "30000" },
      { region: "north", n: "30000" },
      { region: "south", n: "30000" },
      { region: "west", n: "30000" },
      { region: null, n: "30000" },
    ]);
  });

  it("answers curl with Connect JSON, streaming included", async () => {
    const body = JSON.stringify({
      sql: "SELECT max(id) AS top FROM sales",
      format: "RESULT_FORMAT_JSON",
    });
    const envelope = Buffer.alloc(5 + Buffer.byteLength(body));
    envelope.writeUInt32BE(Buffer.byteLength(body), 1);
    envelope.write(body, 5);
    const requestFile = join(work, "request.bin");
    writeFileSync(requestFile, envelope);
    const { stdout } = await run(
      "curl",
      [
        "-sS",
        "-H",
        "content-type: application/connect+json",
        "-H",
        `authorization: Bearer ${system.adminToken}`,
        "--data-binary",
        `@${requestFile}`,
        `${system.gateway.url.origin}/lakehouse.query.v1.QueryService/ExecuteQuery`,
      ],
      { encoding: "buffer" },
    );
    const frames: { flags: number; json: Record<string, unknown> }[] = [];
    for (let offset = 0; offset < stdout.length; ) {
      const length = stdout.readUInt32BE(offset + 1);
      frames.push({
        flags: stdout[offset]!,
        json: JSON.parse(stdout.subarray(offset + 5, offset + 5 + length).toString()),
      });
      offset += 5 + length;
    }
    const rows = frames.flatMap((f) => (f.json.batch as { jsonRows?: string[] })?.jsonRows ?? []);
    expect(rows.map((row) => JSON.parse(row))).toEqual([{ top: "149999" }]);
    expect(frames.at(-1)?.flags).toBe(2);
    expect(frames.at(-1)?.json.error).toBeUndefined();
  });

  it("serves Python grpcio, with stubs generated from proto/", async () => {
    const stubs = join(work, "python-stubs");
    await run("mkdir", ["-p", stubs]);
    await run("protoc", [
      "-Iproto",
      `--python_out=${stubs}`,
      `--grpc_python_out=${stubs}`,
      "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
      "proto/lakehouse/query/v1/query.proto",
      "proto/lakehouse/catalog/v1/catalog.proto",
    ]);
    const sql = aggregates[3]!.replaceAll("{sales}", "sales").replaceAll("{regions}", "regions");
    const { stdout, stderr } = await run(
      "/usr/bin/python3",
      ["tests/python/query_client.py", stubs, system.gateway.url.host, sql],
      {
        encoding: "buffer",
        maxBuffer: 64 << 20,
        env: { ...process.env, LAKEHOUSE_TOKEN: system.adminToken },
      },
    );
    const receipts = JSON.parse(stderr.toString()).receipts as { dataset: string }[];
    expect(receipts.map((r) => r.dataset).sort()).toEqual(["regions", "sales"]);
    const reference = await duckdbReference(local(aggregates[3]!));
    expect(canonicalRows(tableFromIPC(stdout))).toEqual(reference.rows);
  });

  it("travels back in time after a second commit", async () => {
    const first = await clients.catalog.getDataset({ name: "sales" });
    const version = first.dataset?.latestVersion ?? 0n;
    await ingest(moreSalesFile, "sales", "uploads/sales-2.parquet");
    const now = await collectQuery(clients.query, {
      sql: "SELECT count(*) AS n FROM sales",
      format: ResultFormat.JSON,
    });
    const then = await collectQuery(clients.query, {
      sql: `SELECT count(*) AS n FROM sales AT (VERSION => ${version})`,
      format: ResultFormat.JSON,
    });
    expect(JSON.parse(now.jsonRows[0]!)).toEqual({ n: "160000" });
    expect(JSON.parse(then.jsonRows[0]!)).toEqual({ n: "150000" });
    expect(then.header.receipts[0]?.version).toBe(version);
    expect(now.header.receipts[0]?.version).toBe(version + 1n);
  });

  it("stops a runaway query at its deadline and then answers the next one", async () => {
    const started = performance.now();
    const error = await collectQuery(
      clients.query,
      {
        sql: "SELECT count(*) FROM sales a, sales b WHERE (a.id * b.id + a.qty) % 7919 = 3",
      },
      { timeoutMs: 500 },
    ).catch((e) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - started).toBeLessThan(5_000);
    const next = await collectQuery(clients.query, {
      sql: "SELECT 42 AS answer",
      format: ResultFormat.JSON,
    });
    expect(next.jsonRows).toEqual(['{"answer":42}']);
  });

  const escapes = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM glob('/tmp/*')",
    `COPY (SELECT 1) TO '${join(work, "escape-copy.csv")}'`,
    `EXPORT DATABASE '${join(work, "escape-export")}'`,
    `ATTACH '${join(work, "escape-attach.db")}'`,
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET threads = 1",
    "RESET threads",
    "PRAGMA version",
    "SELECT getenv('HOME')",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM 'https://example.com/x.parquet'",
    "SELECT * FROM 's3://bucket/x.parquet'",
    "SELECT * FROM '/etc/passwd'",
    `SELECT * FROM '${salesFile}'`,
  ];
  it.each(escapes)("refuses to escape the sandbox: %s", async (sql) => {
    const error = await collectQuery(clients.query, { sql }).catch((e) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect([Code.PermissionDenied, Code.InvalidArgument]).toContain((error as ConnectError).code);
    for (const name of ["escape-copy.csv", "escape-export", "escape-attach.db"]) {
      expect(existsSync(join(work, name))).toBe(false);
    }
  });
});
