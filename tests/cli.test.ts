import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../services/cli/cli-program.js";
import { testContext } from "../services/cli/testing/test-context.js";
import { createJsonRowEncoder } from "../services/queryd/result/json-rows.js";
import { type RunningSystem, startSystem } from "./support/system.js";

const root = resolve(import.meta.dirname, "..");

interface CliRun {
  code: number | null;
  stdout: Buffer;
  text: string;
  stderr: string;
}

const SALES_CSV = [
  "id,name,amount,day,seen,flag",
  '1,"a, ""quoted""",12.5,2024-01-02,2024-01-02 03:04:05.123456,true',
  "2,,7.25,2024-02-29,2024-02-29 12:00:00,false",
  "3,plain,,2023-12-31,2023-12-31 23:59:59,",
  "",
].join("\n");

const EVENTS_NDJSON = [
  '{"id": 1, "kind": "click", "tags": ["a", "b"], "meta": {"x": 1.5, "ok": true}}',
  '{"id": 2, "kind": "view", "tags": [], "meta": {"x": -2.0, "ok": false}}',
  '{"id": 3, "kind": null, "tags": ["c"], "meta": {"x": 0.25, "ok": null}}',
  "",
].join("\n");

const NUMBERS_SQL =
  "SELECT range AS n, range * range AS sq, 'v' || range AS label FROM range(1000)";

describe("lakehouse CLI against the real system", () => {
  let system: RunningSystem | undefined;
  let gatewayUrl = "";
  let work = "";
  let duckdb: DuckDBInstance;
  const files = { sales: "", events: "", numbers: "", wider: "" };

  /** Runs `node bin/lakehouse.js ...args` against the gateway, as a user would. */
  function cli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliRun> {
    const child = spawn(process.execPath, ["bin/lakehouse.js", ...args], {
      cwd: root,
      env: {
        ...process.env,
        LAKEHOUSE_URL: gatewayUrl,
        LAKEHOUSE_TOKEN: system?.adminToken ?? "",
        ...env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.end(stdin ?? "");
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
    });
    return new Promise((resolveRun) =>
      child.on("close", (code) => {
        const stdout = Buffer.concat(out);
        resolveRun({ code, stdout, text: stdout.toString("utf8"), stderr });
      }),
    );
  }

  /** The JSON rows queryd's encoding gives for `sql` run by DuckDB in this process. */
  async function duckdbJsonRows(sql: string): Promise<string[]> {
    const connection = await duckdb.connect();
    try {
      const result = await connection.run(sql);
      const encoder = createJsonRowEncoder(result.columnNames(), result.columnTypes());
      const rows: string[] = [];
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        rows.push(...encoder.encode(chunk));
      }
      return rows;
    } finally {
      connection.closeSync();
    }
  }

  const ndjsonLines = (run: CliRun) => run.text.split("\n").filter((line) => line !== "");

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cli-e2e-"));
    files.sales = join(work, "sales.csv");
    files.events = join(work, "events.ndjson");
    files.numbers = join(work, "numbers.parquet");
    files.wider = join(work, "wider.csv");
    writeFileSync(files.sales, SALES_CSV);
    writeFileSync(files.events, EVENTS_NDJSON);
    writeFileSync(files.wider, "id,name,score\n10,x,0.5\n");
    duckdb = await DuckDBInstance.create(":memory:");
    const connection = await duckdb.connect();
    await connection.run(`COPY (${NUMBERS_SQL}) TO '${files.numbers}' (FORMAT parquet)`);
    connection.closeSync();

    system = await startSystem();
    gatewayUrl = system.gateway.url.origin;
  }, 90_000);

  afterAll(async () => {
    await system?.stop();
    duckdb?.closeSync();
    if (work !== "") rmSync(work, { recursive: true, force: true });
  });

  it("reports the gateway SERVING on the health check", async () => {
    const run = await cli(["health"]);
    expect(run).toMatchObject({ code: 0, text: "SERVING\n", stderr: "" });
  });

  it("ingests a CSV file and prints the new snapshot", async () => {
    const run = await cli(["ingest", files.sales, "--dataset", "sales", "--message", "first"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.text).toMatch(
      /^dataset +sales\nversion +1\nrows +3\nfiles +1\nfingerprint +[0-9a-f]{64}\n$/,
    );
  });

  it("ingests NDJSON and Parquet files, detecting Parquet by its content", async () => {
    const events = await cli(["ingest", files.events, "--dataset", "events", "--format", "json"]);
    expect(events.stderr).toBe("");
    expect(events.text).toMatch(/^rows +3$/m);
    const numbers = await cli(["ingest", files.numbers, "--dataset", "numbers", "--json"]);
    expect(numbers.code).toBe(0);
    const answer = JSON.parse(numbers.text);
    expect(answer).toMatchObject({
      dataset: "numbers",
      datasetCreated: true,
      snapshot: { version: "1", rowCount: "1000", fileCount: "1" },
    });
  });

  it("lists every dataset as a table and as JSON", async () => {
    const table = await cli(["datasets"]);
    expect(table.code).toBe(0);
    const lines = table.text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +VERSION +ROWS +FILES +BYTES +UPDATED$/);
    expect(lines.slice(2).map((line) => line.split(/ +/).slice(0, 4))).toEqual([
      ["events", "1", "3", "1"],
      ["numbers", "1", "1000", "1"],
      ["sales", "1", "3", "1"],
    ]);
    const json = JSON.parse((await cli(["datasets", "--json"])).text) as { name: string }[];
    expect(json.map((dataset) => dataset.name)).toEqual(["events", "numbers", "sales"]);
  });

  it("shows the schema DuckDB detects in the source file", async () => {
    const run = await cli(["schema", "sales"]);
    expect(run.code).toBe(0);
    const columns = run.text
      .trimEnd()
      .split("\n")
      .slice(2)
      .map((line) => line.split(/ +/).slice(0, 2));
    const connection = await duckdb.connect();
    const described = await connection.runAndReadAll(
      `DESCRIBE SELECT * FROM read_csv('${files.sales}', header = true, auto_detect = true)`,
    );
    connection.closeSync();
    expect(columns).toEqual(described.getRows().map((row) => [row[0], row[1]]));
  });

  it("prints query rows as NDJSON equal to DuckDB's on the same source data", async () => {
    const cases = [
      ["SELECT * FROM sales ORDER BY id", `SELECT * FROM read_csv('${files.sales}') ORDER BY id`],
      [
        "SELECT * FROM events ORDER BY id",
        `SELECT * FROM read_json_auto('${files.events}') ORDER BY id`,
      ],
      [
        "SELECT n, sq, label FROM numbers WHERE n % 97 = 0 ORDER BY n",
        `SELECT n, sq, label FROM (${NUMBERS_SQL}) WHERE n % 97 = 0 ORDER BY n`,
      ],
    ] as const;
    for (const [sql, local] of cases) {
      const run = await cli(["query", sql, "--format", "json"]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const expected = await duckdbJsonRows(local);
      expect(expected.length).toBeGreaterThan(0);
      expect(ndjsonLines(run)).toEqual(expected);
    }
  });

  it("defaults to NDJSON when stdout is not a terminal and honours --max-rows and --param", async () => {
    const limited = await cli(["query", "SELECT n FROM numbers ORDER BY n", "--max-rows", "2"]);
    expect(ndjsonLines(limited)).toEqual(['{"n":"0"}', '{"n":"1"}']);
    expect(limited.code).toBe(0);
    expect(limited.stderr).toMatch(/^warning: the result was cut at 2 rows .*\n$/);
    const strict = await cli([
      "query",
      "SELECT n FROM numbers ORDER BY n",
      "--max-rows",
      "2",
      "--fail-on-limit",
    ]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^error: resource_exhausted: .*\(reason: RESULT_TOO_LARGE\)\n$/);
    const whole = await cli(["query", "SELECT n FROM numbers ORDER BY n", "--fail-on-limit"]);
    expect(whole.code).toBe(0);
    expect(whole.stderr).toBe("");
    const positional = await cli([
      "query",
      "SELECT label FROM numbers WHERE n = ? OR label = ? ORDER BY n",
      "--param",
      "5",
      "--param",
      "v7",
    ]);
    expect(positional.stderr).toBe("");
    expect(ndjsonLines(positional)).toEqual(['{"label":"v5"}', '{"label":"v7"}']);
    const named = await cli(["query", "SELECT n FROM numbers WHERE label = $l", "--param", "l=v9"]);
    expect(named.stderr).toBe("");
    expect(ndjsonLines(named)).toEqual(['{"n":"9"}']);
  });

  it("prints RFC 4180 CSV with a header row, NULL as an empty field", async () => {
    const run = await cli(["query", "SELECT * FROM sales ORDER BY id", "--format", "csv"]);
    expect(run.stderr).toBe("");
    expect(run.text).toBe(
      [
        "id,name,amount,day,seen,flag",
        '1,"a, ""quoted""",12.5,2024-01-02,2024-01-02T03:04:05.123456,true',
        "2,,7.25,2024-02-29,2024-02-29T12:00:00,false",
        "3,plain,,2023-12-31,2023-12-31T23:59:59,",
        "",
      ].join("\r\n"),
    );
  });

  it("prints an aligned table and a summary on stderr when a person is at the terminal", async () => {
    const context = testContext(
      { LAKEHOUSE_URL: gatewayUrl, LAKEHOUSE_TOKEN: system?.adminToken ?? "" },
      { tty: true },
    );
    expect(await runCli(["query", "SELECT id, name, flag FROM sales ORDER BY id"], context)).toBe(
      0,
    );
    expect(context.stdout.text()).toBe(
      [
        "id  name         flag",
        "--  -----------  -----",
        ' 1  a, "quoted"  true',
        " 2  NULL         false",
        " 3  plain        NULL",
        "",
      ].join("\n"),
    );
    expect(context.stderr.text()).toMatch(/^\(3 rows in \d+\.\d{3} s\)\n$/);
  });

  it("writes a valid Arrow IPC stream with --format arrow", async () => {
    const run = await cli([
      "query",
      "SELECT n, sq, label FROM numbers ORDER BY n",
      "--format",
      "arrow",
    ]);
    expect(run.code).toBe(0);
    const table = tableFromIPC(run.stdout);
    expect(table.schema.fields.map((field) => field.name)).toEqual(["n", "sq", "label"]);
    expect(table.numRows).toBe(1000);
    const n = table.getChild("n")!.toArray() as BigInt64Array;
    const sq = table.getChild("sq")!.toArray() as BigInt64Array;
    expect(Array.from(n)).toEqual(Array.from({ length: 1000 }, (_, i) => BigInt(i)));
    expect(Array.from(sq)).toEqual(Array.from({ length: 1000 }, (_, i) => BigInt(i * i)));
    expect(table.getChild("label")!.get(999)).toBe("v999");
  });

  it("keeps a history: snapshots newest first, details, diff, then drop", async () => {
    expect((await cli(["ingest", files.sales, "--dataset", "history"])).code).toBe(0);
    expect((await cli(["ingest", files.sales, "--dataset", "history"])).code).toBe(0);
    const replaced = await cli(["ingest", files.wider, "--dataset", "history", "--replace"]);
    expect(replaced.text).toMatch(/^version +3\nrows +1$/m);

    const snapshots = await cli(["snapshots", "history"]);
    const rows = snapshots.text.trimEnd().split("\n").slice(2);
    expect(rows.map((line) => line.trim().split(/ +/).slice(0, 2))).toEqual([
      ["3", "2"],
      ["2", "1"],
      ["1", "0"],
    ]);

    const shown = JSON.parse((await cli(["show", "history", "--version", "2", "--json"])).text);
    expect(shown.snapshot).toMatchObject({ version: "2", rowCount: "6", fileCount: "2" });
    expect(shown.snapshot.files).toHaveLength(2);

    const diff = await cli(["diff", "history", "2"]);
    expect(diff.code).toBe(0);
    const lines = diff.text.trimEnd().split("\n");
    expect(lines[0]).toBe("from 2 to 3");
    expect(lines).toContain("+ column score DOUBLE");
    expect(lines).toContain("- column amount DOUBLE");
    expect(lines.filter((line) => line.startsWith("- file "))).toHaveLength(2);
    expect(lines.filter((line) => line.startsWith("+ file "))).toHaveLength(1);

    expect(await cli(["drop", "history"])).toMatchObject({ code: 0, text: "dropped history\n" });
    const gone = await cli(["schema", "history"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: not_found: .+\n$/);
  });

  it("reads the statement from standard input for -, however long and multi-line", async () => {
    const padding = `-- ${"x".repeat(200_000)}\n`;
    const sql = `${padding}SELECT n,\n  label\nFROM numbers\nWHERE n < 2\nORDER BY n`;
    const run = await cli(["query", "-", "--format", "json"], {}, sql);
    expect(run.stderr).toBe("");
    expect(ndjsonLines(run)).toEqual(['{"n":"0","label":"v0"}', '{"n":"1","label":"v1"}']);
    const plan = await cli(["explain", "-"], {}, "SELECT count(*) FROM numbers");
    expect(plan.code).toBe(0);
    expect(plan.text.length).toBeGreaterThan(0);
    const empty = await cli(["query", "-"], {}, "  \n");
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("no SQL on standard input");
  });

  it("fails with exit 1 and one invalid_argument line for SQL that does not bind", async () => {
    const run = await cli(["query", "SELECT no_such_column FROM sales"]);
    expect(run.code).toBe(1);
    expect(run.text).toBe("");
    expect(run.stderr).toMatch(
      /^error: invalid_argument: [^\n]*no_such_column[\s\S]* \(reason: [A-Z_]+\)\n$/,
    );
  });

  it("fails with exit 1 and one invalid_argument line for a syntax error, without a stack trace", async () => {
    const run = await cli(["query", "SELEC 1"]);
    expect(run.code).toBe(1);
    expect(run.text).toBe("");
    expect(run.stderr).toMatch(/^error: invalid_argument: .+\n$/);
  });

  it("fails with exit 1 and unavailable when no gateway listens", async () => {
    const run = await cli(["datasets", "--url", "http://127.0.0.1:1"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: unavailable: /);
  });

  it("fails with exit 2 on usage errors before calling anything", async () => {
    for (const args of [
      ["query"],
      ["nonsense"],
      ["show", "sales", "--version", "zero"],
      ["query", "SELECT 1", "--format", "xml"],
      ["ingest", files.sales],
    ]) {
      const run = await cli(args, { LAKEHOUSE_URL: "http://127.0.0.1:1" });
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(/^error: usage: /);
    }
  });
});
