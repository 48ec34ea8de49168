import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { type CatalogFixture, startCatalogFixture } from "../catalogd/testing/catalog-fixture.js";
import { runCli } from "./cli-program.js";
import type { GatewayClients } from "./gateway-clients.js";
import { testContext } from "./testing/test-context.js";
import type { UploadProgress } from "./upload-progress.js";

let fixture: CatalogFixture;
let directory = "";

/** What an ingest run did: its exit, output, connections and progress events. */
interface IngestRun {
  code: number;
  out: string;
  err: string;
  connects: number;
  events: string[];
}

/**
 * Runs the CLI in-process against the real catalog and storage services (in
 * memory), counting connections and recording the progress calls in order.
 */
async function run(args: string[]): Promise<IngestRun> {
  let connects = 0;
  const events: string[] = [];
  const unused = createRouterTransport(() => {});
  const gateway: GatewayClients = {
    catalog: fixture.catalog,
    storage: fixture.storage,
    query: createClient(QueryService, unused),
    health: createClient(Health, unused),
    ai: createClient(AiService, unused),
    signal: new AbortController().signal,
    callOptions: () => ({}),
  };
  const base = testContext({});
  const context = {
    ...base,
    async connect() {
      connects += 1;
      return gateway;
    },
    uploadProgress(total: number): UploadProgress {
      let sent = 0;
      events.push(`start ${total}`);
      return {
        advance(bytes) {
          sent += bytes;
        },
        waiting(activity) {
          events.push(`sent ${sent}`, `waiting ${activity}`);
        },
        stop() {
          events.push("stop");
        },
      };
    },
  };
  const code = await runCli(args, context);
  return { code, out: base.stdout.text(), err: base.stderr.text(), connects, events };
}

/** Every object staged under `uploads/`, which a refused ingest must not have written. */
async function stagedUploads(): Promise<string[]> {
  const listing = await fixture.storage.listObjects({ prefix: "uploads/" });
  return listing.objects.map((object) => object.key);
}

beforeAll(async () => {
  fixture = await startCatalogFixture();
  directory = await mkdtemp(join(tmpdir(), "cli-ingest-"));
  const duckdb = await DuckDBInstance.create(":memory:");
  const connection = await duckdb.connect();
  await connection.run(
    `COPY (SELECT range AS n FROM range(5)) TO '${join(directory, "numbers")}' (FORMAT parquet)`,
  );
  connection.closeSync();
  duckdb.closeSync();
  await writeFile(join(directory, "big.psv"), "id|name\n1|a\n2|b\n");
  await writeFile(join(directory, "events.txt"), '{"id": 1}\n{"id": 2}\n');
  await writeFile(join(directory, "table"), "id,name\n1,a\n");
  await writeFile(join(directory, "sales.csv.gz"), gzipSync("id,amount\n1,2.5\n2,3.5\n3,1\n"));
  await writeFile(join(directory, "numbers.parquet.gz"), gzipSync("PAR1 not really"));
});

afterAll(async () => {
  await fixture?.close();
  if (directory !== "") await rm(directory, { recursive: true, force: true });
});

describe("lakehouse ingest format detection", () => {
  it("refuses a file whose name and content tell no format before connecting or uploading", async () => {
    const staged = await stagedUploads();
    for (const name of ["big.psv", "events.txt", "table"]) {
      const file = join(directory, name);
      const result = await run(["ingest", file, "--dataset", "refused"]);
      expect(result.code, name).toBe(2);
      expect(result.err).toBe(
        `error: usage: cannot tell the format of "${file}" from its name or content: ` +
          "give --format parquet|csv|json|arrow\n",
      );
      expect(result.connects).toBe(0);
      expect(result.events).toEqual([]);
    }
    expect(await stagedUploads()).toEqual(staged);
  });

  it("refuses a Parquet file compressed as a whole, as the catalog would, without uploading", async () => {
    const staged = await stagedUploads();
    const result = await run(["ingest", join(directory, "numbers.parquet.gz"), "--dataset", "gz"]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /^error: invalid_argument: ".*numbers\.parquet\.gz" is PARQUET compressed as a whole file \(gzip\).*\(reason: UNKNOWN_FORMAT\)\n$/,
    );
    expect(result.connects).toBe(0);
    expect(await stagedUploads()).toEqual(staged);
  });

  it("ingests an unknown extension once --format names the format", async () => {
    const result = await run([
      "ingest",
      join(directory, "big.psv"),
      "--dataset",
      "pipes",
      "--format",
      "csv",
    ]);
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^dataset +pipes\nversion +1\nrows +2\n/);
  });

  it("passes --option NAME=VALUE to the catalog as reader options, refusing a malformed one", async () => {
    await writeFile(join(directory, "semi.csv"), "id;note\n1;NA\n2;x\n");
    const read = await run([
      "ingest",
      join(directory, "semi.csv"),
      "--dataset",
      "semi",
      "--option",
      "delim=;",
      "--option",
      "nullstr=NA",
      "--json",
    ]);
    expect(read.err).toBe("");
    const snapshot = JSON.parse(read.out).snapshot;
    expect(snapshot.schema.fields.map((f: { name: string }) => f.name)).toEqual(["id", "note"]);
    expect(snapshot.columnStats[1]).toMatchObject({ column: "note", nullCount: "1" });
    const malformed = await run([
      "ingest",
      join(directory, "semi.csv"),
      "--dataset",
      "semi",
      "--option",
      "delim",
    ]);
    expect(malformed.code).toBe(2);
    expect(malformed.err).toContain("expected NAME=VALUE");
    expect(malformed.connects).toBe(0);
  });

  it("detects Parquet by its content and reports committing once the upload is done", async () => {
    const result = await run(["ingest", join(directory, "numbers"), "--dataset", "numbers"]);
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^dataset +numbers\nversion +1\nrows +5\nfiles +1\n/);
    const size = Number(result.events[0]?.split(" ")[1]);
    expect(size).toBeGreaterThan(0);
    expect(result.events).toEqual([`start ${size}`, `sent ${size}`, "waiting committing", "stop"]);
  });

  it("detects gzip CSV by its extension and reports the conversion while it runs", async () => {
    const result = await run(["ingest", join(directory, "sales.csv.gz"), "--dataset", "sales"]);
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^rows +3$/m);
    expect(result.events.slice(2)).toEqual([
      "waiting converting to Parquet and committing",
      "stop",
    ]);
  });
});

describe("lakehouse ingest --help", () => {
  it("marks --dataset as required in the usage line and the option list", async () => {
    const context = testContext({});
    expect(await runCli(["ingest", "--help"], context)).toBe(0);
    const help = context.stdout.text();
    expect(help).toContain("Usage: lakehouse ingest <file> --dataset <name> [options]");
    expect(help).toMatch(
      /^ {2}--dataset <name> +target dataset, created when missing \(required\)$/m,
    );
  });
});
