import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { Int64, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { errorReason } from "../kit/errors.js";
import { putObject, readObject } from "../storaged/client.js";
import { type CatalogFixture, startCatalogFixture } from "./testing/catalog-fixture.js";

let fx: CatalogFixture;
let fixtureCount = 0;

beforeAll(async () => {
  fx = await startCatalogFixture();
  await mkdir(join(fx.workDirectory, "fixtures"), { recursive: true });
});

afterAll(async () => {
  await fx.close();
});

async function upload(key: string, body: string | Uint8Array): Promise<void> {
  await putObject(fx.storage, key, typeof body === "string" ? Buffer.from(body, "utf8") : body);
}

/** The bytes of a Parquet file DuckDB writes for `select`. */
async function parquetOf(select: string): Promise<Uint8Array> {
  const path = join(fx.workDirectory, "fixtures", `f${++fixtureCount}.parquet`);
  await fx.duckdb.withConnection((c) => c.run(`COPY (${select}) TO '${path}' (FORMAT parquet)`));
  return readFile(path);
}

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => ConnectError.from(error),
  );
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let pageToken = "";
  do {
    const page = await fx.storage.listObjects({ prefix, pageToken });
    keys.push(...page.objects.map((o) => o.key));
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return keys;
}

async function datasetId(name: string): Promise<string> {
  const record = JSON.parse(
    Buffer.from(await readObject(fx.storage, `_catalog/datasets/${name}.json`)).toString(),
  );
  return record.id as string;
}

const PEOPLE_CSV = "id,name\n1,ann\n2,bob\n3,\n";
const PEOPLE_NDJSON = '{"id": 4, "name": "cy"}\n{"id": 5, "name": null}\n';
const peopleArrow = () =>
  new Table({
    id: vectorFromArray([7n, 8n], new Int64()),
    name: vectorFromArray(["gil", null], new Utf8()),
  });

describe("CatalogService", () => {
  it("creates a dataset and ingests CSV, NDJSON, Parquet and Arrow file and stream into contiguous snapshots", async () => {
    const created = await fx.catalog.createDataset({ name: "people", description: "who" });
    expect(created.dataset).toMatchObject({
      name: "people",
      description: "who",
      latestVersion: 0n,
    });
    expect(created.dataset?.snapshot).toBeUndefined();

    await upload("uploads/people.csv", PEOPLE_CSV);
    await upload("uploads/people.ndjson", PEOPLE_NDJSON);
    await upload(
      "uploads/people.parquet",
      await parquetOf("SELECT 6::BIGINT AS id, 'fay' AS name"),
    );
    await upload("uploads/people.arrow", tableToIPC(peopleArrow(), "file"));
    await upload("uploads/people.arrows", tableToIPC(peopleArrow(), "stream"));

    const versions: bigint[] = [];
    for (const key of [
      "uploads/people.csv",
      "uploads/people.ndjson",
      "uploads/people.parquet",
      "uploads/people.arrow",
      "uploads/people.arrows",
    ]) {
      const response = await fx.catalog.ingestObject(
        { dataset: "people", sourceKey: key, message: `load ${key}` },
        { headers: { "x-author": "alice" } },
      );
      expect(response.replayed).toBe(false);
      expect(response.datasetCreated).toBe(false);
      expect(response.snapshot?.author).toBe("alice");
      versions.push(response.snapshot?.version ?? 0n);
    }
    expect(versions).toEqual([1n, 2n, 3n, 4n, 5n]);

    const latest = (await fx.catalog.getDataset({ name: "people" })).dataset!;
    expect(latest.latestVersion).toBe(5n);
    const snapshot = latest.snapshot!;
    expect(snapshot.schema?.fields.map((f) => `${f.name} ${f.type}`)).toEqual([
      "id BIGINT",
      "name VARCHAR",
    ]);
    expect(snapshot.files).toHaveLength(5);
    expect(snapshot.fileCount).toBe(5n);
    expect(snapshot.rowCount).toBe(3n + 2n + 1n + 2n + 2n);
    expect(snapshot.size).toBe(snapshot.files.reduce((t, f) => t + f.size, 0n));
    // The Parquet upload is registered as is; the others were converted into the data prefix.
    expect(snapshot.files.map((f) => f.key).filter((k) => k.startsWith("uploads/"))).toEqual([
      "uploads/people.parquet",
    ]);
    for (const file of snapshot.files) {
      const head = await fx.storage.headObject({ key: file.key });
      expect(file.sha256).toBe(head.object?.sha256);
      expect(file.size).toBe(head.object?.size);
    }
    expect(snapshot.columnStats).toMatchObject([
      { column: "id", min: "1", max: "8", nullCount: 0n },
      { column: "name", min: "ann", max: "gil", nullCount: 4n },
    ]);

    // omit_files answers which snapshot is current without the file list.
    const brief = (await fx.catalog.getDataset({ name: "people", omitFiles: true })).dataset!;
    expect(brief.snapshot?.version).toBe(5n);
    expect(brief.snapshot?.files).toEqual([]);
    expect(brief.snapshot?.fileCount).toBe(5n);
    expect(brief.snapshot?.commitTime).toEqual(snapshot.commitTime);

    // Time travel: version 1 still has only the CSV's file.
    const first = (await fx.catalog.getDataset({ name: "people", version: 1n })).dataset!;
    expect(first.latestVersion).toBe(5n);
    expect(first.snapshot?.version).toBe(1n);
    expect(first.snapshot?.files).toHaveLength(1);
    expect(first.snapshot?.rowCount).toBe(3n);
    expect(first.snapshot?.message).toBe("load uploads/people.csv");

    const listed = await fx.catalog.listSnapshots({ dataset: "people" });
    expect(listed.snapshots.map((s) => s.version)).toEqual([5n, 4n, 3n, 2n, 1n]);
    expect(listed.snapshots.map((s) => s.fileCount)).toEqual([5n, 4n, 3n, 2n, 1n]);
    expect(listed.snapshots.every((s) => s.files.length === 0)).toBe(true);
    expect(listed.nextPageToken).toBe("");

    const diff = await fx.catalog.diffSnapshots({ dataset: "people", fromVersion: 1n });
    expect(diff.fromVersion).toBe(1n);
    expect(diff.toVersion).toBe(5n);
    expect(diff.addedFiles).toHaveLength(4);
    expect(diff.removedFiles).toHaveLength(0);
    expect(diff.addedColumns).toHaveLength(0);
    expect(diff.changedColumns).toHaveLength(0);

    const datasets = await fx.catalog.listDatasets({});
    const people = datasets.datasets.find((d) => d.name === "people");
    expect(people?.latestVersion).toBe(5n);
    expect(people?.snapshot?.fileCount).toBe(5n);
    expect(people?.snapshot?.files).toHaveLength(0);
  });

  it("records statistics equal to what DuckDB computes on the same data", async () => {
    const csv = ["n,label,day,amount"];
    for (let i = 0; i < 300; i++) {
      csv.push(
        `${i * 7 - 1000},${i % 5 === 0 ? "" : `l${i}`},2024-01-${String((i % 28) + 1).padStart(2, "0")},${i % 9 === 0 ? "" : (i * 1.25).toFixed(2)}`,
      );
    }
    const second = ["n,label,day,amount", "5000,zz,2023-12-31,", "-5000,,2024-02-01,0.5"];
    const local = join(fx.workDirectory, "fixtures", "stats.csv");
    const localSecond = join(fx.workDirectory, "fixtures", "stats2.csv");
    await writeFile(local, `${csv.join("\n")}\n`);
    await writeFile(localSecond, `${second.join("\n")}\n`);
    await upload("uploads/stats.csv", `${csv.join("\n")}\n`);
    await upload("uploads/stats2.csv", `${second.join("\n")}\n`);
    const one = await fx.catalog.ingestObject({
      dataset: "stats",
      sourceKey: "uploads/stats.csv",
      createIfMissing: true,
    });
    expect(one.datasetCreated).toBe(true);
    const two = await fx.catalog.ingestObject({
      dataset: "stats",
      sourceKey: "uploads/stats2.csv",
    });

    const duckdbStats = async (from: string) =>
      fx.duckdb.withConnection(async (c) => {
        const columns = ["n", "label", "day", "amount"];
        const parts = columns.map(
          (x) => `min(${x})::VARCHAR, max(${x})::VARCHAR, count(*) - count(${x})`,
        );
        const row = (
          await c.runAndReadAll(`SELECT count(*), ${parts.join(", ")} FROM ${from}`)
        ).getRows()[0]!;
        return {
          rowCount: BigInt(row[0] as bigint),
          stats: columns.map((column, i) => ({
            column,
            min: row[1 + 3 * i],
            max: row[2 + 3 * i],
            nullCount: BigInt(row[3 + 3 * i] as bigint),
          })),
        };
      });
    const pick = (s: { column: string; min: string; max: string; nullCount: bigint }) => ({
      column: s.column,
      min: s.min,
      max: s.max,
      nullCount: s.nullCount,
    });
    const expectedFile = await duckdbStats(`read_csv('${local}', header = true)`);
    expect(one.file?.rowCount).toBe(expectedFile.rowCount);
    expect(one.file?.columnStats.map(pick)).toEqual(expectedFile.stats);
    const expectedAll = await duckdbStats(
      `(SELECT * FROM read_csv('${local}', header = true) UNION ALL SELECT * FROM read_csv('${localSecond}', header = true))`,
    );
    expect(two.snapshot?.rowCount).toBe(expectedAll.rowCount);
    expect(two.snapshot?.columnStats.map(pick)).toEqual(expectedAll.stats);
  });

  it("refuses a file of another schema with FAILED_PRECONDITION and leaves the dataset and its folder unchanged", async () => {
    await fx.catalog.createDataset({ name: "strict" });
    await upload("uploads/strict.csv", "id,name\n1,a\n");
    await fx.catalog.ingestObject({ dataset: "strict", sourceKey: "uploads/strict.csv" });
    const before = (await fx.catalog.getDataset({ name: "strict" })).dataset!;
    const dataBefore = await keysUnder("datasets/strict/");

    await upload("uploads/other.csv", "id,name,extra\n1,a,true\n");
    const error = await failure(
      fx.catalog.ingestObject({ dataset: "strict", sourceKey: "uploads/other.csv" }),
    );
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(errorReason(error)).toBe("SCHEMA_CONFLICT");
    expect(error.rawMessage).toMatch(
      /^the schema of "uploads\/other.csv" differs from the schema of dataset "strict": the file has "extra", the dataset not$/,
    );
    await upload("uploads/other.parquet", await parquetOf("SELECT 1::INTEGER AS id, 'x' AS name"));
    const commitError = await failure(
      fx.catalog.commitSnapshot({ dataset: "strict", addFiles: ["uploads/other.parquet"] }),
    );
    expect(commitError.code).toBe(Code.FailedPrecondition);
    expect(errorReason(commitError)).toBe("SCHEMA_CONFLICT");
    expect(commitError.rawMessage).toMatch(
      /: "id" is BIGINT in the dataset and INTEGER in the file$/,
    );

    const after = (await fx.catalog.getDataset({ name: "strict" })).dataset!;
    expect(after.latestVersion).toBe(before.latestVersion);
    expect(after.snapshot?.files).toEqual(before.snapshot?.files);
    expect(await keysUnder("datasets/strict/")).toEqual(dataBefore);

    // replace_all may change the schema.
    const replaced = await fx.catalog.ingestObject({
      dataset: "strict",
      sourceKey: "uploads/other.csv",
      replaceAll: true,
    });
    expect(replaced.snapshot?.files).toHaveLength(1);
    expect(replaced.snapshot?.schema?.fields.map((f) => f.name)).toEqual(["id", "name", "extra"]);
    const diff = await fx.catalog.diffSnapshots({
      dataset: "strict",
      fromVersion: 1n,
      toVersion: 2n,
    });
    expect(diff.addedColumns.map((f) => f.name)).toEqual(["extra"]);
    expect(diff.removedFiles.map((f) => f.key)).toEqual(before.snapshot?.files.map((f) => f.key));
  });

  it("appends text files in the dataset's own column types and order, whatever DuckDB guesses for each file", async () => {
    await upload("uploads/day1.csv", "id,amount,city\n1,1.5,Oslo\n");
    await fx.catalog.ingestObject({
      dataset: "daily",
      sourceKey: "uploads/day1.csv",
      createIfMissing: true,
    });
    // Whole amounts alone read as BIGINT, and the columns come in another order.
    await upload("uploads/day2.csv", "city,amount,id\nBergen,4,2\n");
    const second = await fx.catalog.ingestObject({
      dataset: "daily",
      sourceKey: "uploads/day2.csv",
    });
    expect(second.snapshot?.version).toBe(2n);
    expect(second.snapshot?.schema?.fields.map((f) => [f.name, f.type])).toEqual([
      ["id", "BIGINT"],
      ["amount", "DOUBLE"],
      ["city", "VARCHAR"],
    ]);
    const rows = await fx.duckdb.withConnection(async (c) => {
      const paths: string[] = [];
      for (const file of second.snapshot?.files ?? []) {
        const local = `${fx.workDirectory}/daily-${paths.length}.parquet`;
        await writeFile(local, await readObject(fx.storage, file.key));
        paths.push(`'${local}'`);
      }
      const read = await c.runAndReadAll(
        `SELECT id, amount, city FROM read_parquet([${paths.join(", ")}]) ORDER BY id`,
      );
      return read.getRowsJS();
    });
    expect(rows).toEqual([
      [1n, 1.5, "Oslo"],
      [2n, 4, "Bergen"],
    ]);

    await upload("uploads/day3.csv", "id,amount,city\n3,n/a,Tromso\n");
    const unfit = await failure(
      fx.catalog.ingestObject({ dataset: "daily", sourceKey: "uploads/day3.csv" }),
    );
    expect(unfit.code).toBe(Code.InvalidArgument);
    expect(unfit.rawMessage).toContain("n/a");
  });

  it("refuses an empty object with INVALID_ARGUMENT EMPTY_SOURCE and creates no dataset", async () => {
    for (const key of ["uploads/empty.csv", "uploads/empty.json"]) {
      await upload(key, "");
      const error = await failure(
        fx.catalog.ingestObject({ dataset: "nothing", sourceKey: key, createIfMissing: true }),
      );
      expect(error.code, key).toBe(Code.InvalidArgument);
      expect(errorReason(error), key).toBe("EMPTY_SOURCE");
    }
    const missing = await failure(fx.catalog.getDataset({ name: "nothing" }));
    expect(missing.code).toBe(Code.NotFound);
  });

  it("refuses to read or delete a source in the catalog's or a dataset's area, whatever its format", async () => {
    await fx.catalog.createDataset({ name: "victim" });
    await upload("uploads/victim.csv", "secret\nalice\n");
    const ingested = await fx.catalog.ingestObject({
      dataset: "victim",
      sourceKey: "uploads/victim.csv",
    });
    const dataKey = ingested.file!.key;
    const record = "_catalog/datasets/victim.json";
    for (const [sourceKey, dataset] of [
      [record, "thief"],
      [dataKey, "thief"],
      // Its own data file, as text: converting it would delete a file snapshots reference.
      [dataKey, "victim"],
    ] as const) {
      for (const format of [SourceFormat.CSV, SourceFormat.JSON]) {
        const error = await failure(
          fx.catalog.ingestObject({
            dataset,
            sourceKey,
            format,
            createIfMissing: true,
            deleteSource: true,
            readerOptions: format === SourceFormat.CSV ? { all_varchar: "true" } : {},
          }),
        );
        expect(error.code, `${sourceKey} ${format}`).toBe(Code.InvalidArgument);
        expect(errorReason(error), sourceKey).toBe("RESERVED_KEY");
      }
    }
    expect((await fx.storage.headObject({ key: record })).object?.key).toBe(record);
    expect((await fx.storage.headObject({ key: dataKey })).object?.key).toBe(dataKey);
    expect((await failure(fx.catalog.getDataset({ name: "thief" }))).code).toBe(Code.NotFound);
  });

  it("reads a CSV with the reader options of the request and refuses unknown ones, creating nothing", async () => {
    await upload("uploads/semi.txt", "id;amount\n1;NA\n2;3,5\n");
    const bad = await failure(
      fx.catalog.ingestObject({
        dataset: "semi",
        sourceKey: "uploads/semi.txt",
        format: SourceFormat.CSV,
        createIfMissing: true,
        readerOptions: { delim: ";", filename: "true" },
      }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(errorReason(bad)).toBe("INVALID_READER_OPTION");
    expect((await failure(fx.catalog.getDataset({ name: "semi" }))).code).toBe(Code.NotFound);
    const done = await fx.catalog.ingestObject({
      dataset: "semi",
      sourceKey: "uploads/semi.txt",
      format: SourceFormat.CSV,
      createIfMissing: true,
      readerOptions: { delim: ";", nullstr: "NA", decimal_separator: "," },
    });
    expect(done.snapshot?.schema?.fields.map((f) => `${f.name} ${f.type}`)).toEqual([
      "id BIGINT",
      "amount DOUBLE",
    ]);
    expect(done.snapshot?.columnStats.map((c) => [c.column, c.min, c.max, c.nullCount])).toEqual([
      ["id", "1", "2", 0n],
      ["amount", "3.5", "3.5", 1n],
    ]);
  });

  it("refuses a CSV object registered as Parquet with INVALID_ARGUMENT", async () => {
    await fx.catalog.createDataset({ name: "notparquet" });
    await upload("uploads/fake.parquet", "a,b\n1,2\n");
    const ingest = await failure(
      fx.catalog.ingestObject({
        dataset: "notparquet",
        sourceKey: "uploads/fake.parquet",
        format: SourceFormat.PARQUET,
      }),
    );
    expect(ingest.code).toBe(Code.InvalidArgument);
    expect(errorReason(ingest)).toBe("NOT_PARQUET");
    const commit = await failure(
      fx.catalog.commitSnapshot({ dataset: "notparquet", addFiles: ["uploads/fake.parquet"] }),
    );
    expect(commit.code).toBe(Code.InvalidArgument);
    expect(errorReason(commit)).toBe("NOT_PARQUET");
    const unreadable = await failure(
      fx.catalog.ingestObject({
        dataset: "notparquet",
        sourceKey: "uploads/fake.parquet",
        format: SourceFormat.JSON,
      }),
    );
    expect(unreadable.code).toBe(Code.InvalidArgument);
    expect(errorReason(unreadable)).toBe("UNREADABLE_SOURCE");
    expect((await fx.catalog.getDataset({ name: "notparquet" })).dataset?.latestVersion).toBe(0n);
  });

  it("reports a corrupt manifest as DATA_LOSS for that dataset only", async () => {
    for (const name of ["fragile", "sturdy"]) {
      await upload(`uploads/${name}.csv`, "x\n1\n");
      await fx.catalog.ingestObject({
        dataset: name,
        sourceKey: `uploads/${name}.csv`,
        createIfMissing: true,
      });
    }
    const id = await datasetId("fragile");
    await upload(`_catalog/snapshots/${id}/${"1".padStart(20, "0")}.json`, '{"format": "garbage"');

    const error = await failure(fx.catalog.getDataset({ name: "fragile" }));
    expect(error.code).toBe(Code.DataLoss);
    expect(errorReason(error)).toBe("CORRUPT_MANIFEST");
    const commitError = await failure(
      fx.catalog.ingestObject({ dataset: "fragile", sourceKey: "uploads/fragile.csv" }),
    );
    expect(commitError.code).toBe(Code.DataLoss);

    const sturdy = await fx.catalog.getDataset({ name: "sturdy" });
    expect(sturdy.dataset?.snapshot?.rowCount).toBe(1n);
    const listed = await fx.catalog.listDatasets({});
    expect(listed.datasets.find((d) => d.name === "sturdy")?.snapshot?.rowCount).toBe(1n);
    const fragile = listed.datasets.find((d) => d.name === "fragile");
    expect(fragile?.latestVersion).toBe(1n);
    expect(fragile?.snapshot).toBeUndefined();
  });

  it("replays a repeated idempotency key however many commits landed since, and commits a key whose attempt died before its manifest", async () => {
    await fx.catalog.createDataset({ name: "keyed" });
    await upload("uploads/keyed-1.parquet", await parquetOf("SELECT 1::BIGINT AS v"));
    const first = await fx.catalog.commitSnapshot({
      dataset: "keyed",
      addFiles: ["uploads/keyed-1.parquet"],
      idempotencyKey: "k-1",
    });
    expect(first.replayed).toBe(false);
    expect(first.snapshot?.author).toBe("anonymous");
    const again = await fx.catalog.commitSnapshot({
      dataset: "keyed",
      addFiles: ["uploads/keyed-1.parquet"],
      idempotencyKey: "k-1",
    });
    expect(again.replayed).toBe(true);
    expect(again.snapshot).toEqual(first.snapshot);

    // The first response was lost and many commits landed before the retry.
    for (let i = 2; i <= 12; i++) {
      await upload(`uploads/keyed-${i}.parquet`, await parquetOf(`SELECT ${i}::BIGINT AS v`));
      await fx.catalog.commitSnapshot({
        dataset: "keyed",
        addFiles: [`uploads/keyed-${i}.parquet`],
      });
    }
    const late = await fx.catalog.commitSnapshot({
      dataset: "keyed",
      addFiles: ["uploads/keyed-1.parquet"],
      idempotencyKey: "k-1",
    });
    expect(late.replayed).toBe(true);
    expect(late.snapshot?.version).toBe(1n);

    // An attempt that marked version 12 for its key and died before writing that manifest
    // (another commit took 12): the retry commits, once.
    const id = await datasetId("keyed");
    const keyHash = createHash("sha256").update("k-2", "utf8").digest("hex");
    await putObject(
      fx.storage,
      `_catalog/idempotency/${id}/${keyHash}/${"12".padStart(20, "0")}.json`,
      new TextEncoder().encode(JSON.stringify({ key: "k-2", version: "12" })),
    );
    await upload("uploads/keyed-13.parquet", await parquetOf("SELECT 13::BIGINT AS v"));
    const retried = await fx.catalog.commitSnapshot({
      dataset: "keyed",
      addFiles: ["uploads/keyed-13.parquet"],
      idempotencyKey: "k-2",
    });
    expect(retried.replayed).toBe(false);
    expect(retried.snapshot?.version).toBe(13n);

    await upload("uploads/keyed.csv", "v\n3\n");
    const ingested = await fx.catalog.ingestObject({
      dataset: "keyed",
      sourceKey: "uploads/keyed.csv",
      idempotencyKey: "i-1",
    });
    const dataFiles = await keysUnder("datasets/keyed/");
    const reIngested = await fx.catalog.ingestObject({
      dataset: "keyed",
      sourceKey: "uploads/keyed.csv",
      idempotencyKey: "i-1",
    });
    expect(reIngested.replayed).toBe(true);
    expect(reIngested.snapshot?.version).toBe(ingested.snapshot?.version);
    expect(reIngested.file).toEqual(ingested.file);
    expect(await keysUnder("datasets/keyed/")).toEqual(dataFiles);
    expect((await fx.catalog.getDataset({ name: "keyed" })).dataset?.latestVersion).toBe(14n);
  });

  it("answers ABORTED to the loser of a race for an expected parent version", async () => {
    await fx.catalog.createDataset({ name: "racy" });
    const keys = ["a", "b", "c"].map((x) => `uploads/racy-${x}.parquet`);
    const body = await parquetOf("SELECT 1::BIGINT AS v");
    for (const key of keys) await upload(key, body);
    await fx.catalog.commitSnapshot({ dataset: "racy", addFiles: [keys[0]!] });
    const results = await Promise.allSettled(
      keys.slice(1).map((key) =>
        fx.catalog.commitSnapshot({
          dataset: "racy",
          addFiles: [key],
          expectedParentVersion: 1n,
        }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.flatMap((r) =>
      r.status === "rejected" ? [ConnectError.from(r.reason)] : [],
    );
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.code).toBe(Code.Aborted);
    expect(errorReason(lost[0])).toBe("CONCURRENT_COMMIT");
    const stale = await failure(
      fx.catalog.commitSnapshot({
        dataset: "racy",
        addFiles: [keys[2]!],
        expectedParentVersion: 1n,
      }),
    );
    expect(stale.code).toBe(Code.Aborted);
    expect((await fx.catalog.getDataset({ name: "racy" })).dataset?.latestVersion).toBe(2n);
  });

  it("keeps every append of 16 concurrent writers exactly once in contiguous versions", async () => {
    await fx.catalog.createDataset({ name: "busy" });
    const body = await parquetOf("SELECT range AS v FROM range(3)");
    const writers = 16;
    const appends = 5;
    const keyOf = (w: number, a: number) => `uploads/busy/w${w}-a${a}.parquet`;
    for (let w = 0; w < writers; w++)
      for (let a = 0; a < appends; a++) await upload(keyOf(w, a), body);
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let a = 0; a < appends; a++) {
          await fx.catalog.commitSnapshot({ dataset: "busy", addFiles: [keyOf(w, a)] });
        }
      }),
    );
    const latest = (await fx.catalog.getDataset({ name: "busy" })).dataset!;
    const total = writers * appends;
    expect(latest.latestVersion).toBe(BigInt(total));
    const keys = latest.snapshot!.files.map((f) => f.key).sort();
    const expected = Array.from({ length: writers }, (_, w) =>
      Array.from({ length: appends }, (_, a) => keyOf(w, a)),
    )
      .flat()
      .sort();
    expect(keys).toEqual(expected);
    expect(latest.snapshot?.rowCount).toBe(BigInt(total * 3));
    const versions: bigint[] = [];
    let pageToken = "";
    do {
      const page = await fx.catalog.listSnapshots({ dataset: "busy", pageSize: 30, pageToken });
      versions.push(...page.snapshots.map((s) => s.version));
      for (const s of page.snapshots) expect(s.fileCount).toBe(s.version);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(versions).toEqual(Array.from({ length: total }, (_, i) => BigInt(total - i)));
  });

  it("expires old snapshots and the files only they referenced", async () => {
    await fx.catalog.createDataset({ name: "aging" });
    await upload("uploads/aging-1.csv", "v\n1\n");
    await upload("uploads/aging-2.csv", "v\n2\n");
    const one = await fx.catalog.ingestObject({
      dataset: "aging",
      sourceKey: "uploads/aging-1.csv",
    });
    const two = await fx.catalog.ingestObject({
      dataset: "aging",
      sourceKey: "uploads/aging-2.csv",
      replaceAll: true,
    });
    await fx.catalog.ingestObject({ dataset: "aging", sourceKey: "uploads/aging-1.csv" });
    const invalid = await failure(fx.catalog.expireSnapshots({ dataset: "aging", keepLast: 0n }));
    expect(invalid.code).toBe(Code.InvalidArgument);

    const expired = await fx.catalog.expireSnapshots({ dataset: "aging", keepLast: 2n });
    expect(expired.expiredVersions).toEqual([1n]);
    expect(expired.deletedFiles).toBe(1n);
    await expect(fx.storage.headObject({ key: one.file!.key })).rejects.toThrow();
    await fx.storage.headObject({ key: two.file!.key });
    const gone = await failure(fx.catalog.getDataset({ name: "aging", version: 1n }));
    expect(gone.code).toBe(Code.NotFound);
    expect(
      (await fx.catalog.getDataset({ name: "aging", version: 2n })).dataset?.snapshot?.version,
    ).toBe(2n);
    const listed = await fx.catalog.listSnapshots({ dataset: "aging" });
    expect(listed.snapshots.map((s) => s.version)).toEqual([3n, 2n]);
  });

  it("deletes a dataset with its manifests and data files, keeping files another dataset uses", async () => {
    await upload("uploads/shared.parquet", await parquetOf("SELECT 1::BIGINT AS v"));
    await upload("uploads/doomed.csv", "v\n2\n");
    await fx.catalog.createDataset({ name: "doomed" });
    await fx.catalog.createDataset({ name: "survivor" });
    await fx.catalog.commitSnapshot({ dataset: "doomed", addFiles: ["uploads/shared.parquet"] });
    await fx.catalog.commitSnapshot({ dataset: "survivor", addFiles: ["uploads/shared.parquet"] });
    await fx.catalog.ingestObject({ dataset: "doomed", sourceKey: "uploads/doomed.csv" });
    const id = await datasetId("doomed");
    expect(await keysUnder("datasets/doomed/")).toHaveLength(1);

    await fx.catalog.deleteDataset({ name: "doomed" });
    expect((await failure(fx.catalog.getDataset({ name: "doomed" }))).code).toBe(Code.NotFound);
    expect(await keysUnder(`_catalog/snapshots/${id}/`)).toEqual([]);
    expect(await keysUnder("datasets/doomed/")).toEqual([]);
    await fx.storage.headObject({ key: "uploads/shared.parquet" });
    expect((await fx.catalog.getDataset({ name: "survivor" })).dataset?.latestVersion).toBe(1n);
    expect((await failure(fx.catalog.deleteDataset({ name: "doomed" }))).code).toBe(Code.NotFound);

    // A converted source can be deleted by the ingest; a Parquet source never is.
    await upload("uploads/consumed.csv", "v\n9\n");
    await fx.catalog.ingestObject({
      dataset: "survivor",
      sourceKey: "uploads/consumed.csv",
      deleteSource: true,
    });
    expect((await failure(fx.storage.headObject({ key: "uploads/consumed.csv" }))).code).toBe(
      Code.NotFound,
    );
    await upload("uploads/kept.parquet", await parquetOf("SELECT 3::BIGINT AS v"));
    await fx.catalog.ingestObject({
      dataset: "survivor",
      sourceKey: "uploads/kept.parquet",
      deleteSource: true,
    });
    await fx.storage.headObject({ key: "uploads/kept.parquet" });

    // The name is free again and starts from version 0.
    const again = await fx.catalog.createDataset({ name: "doomed" });
    expect(again.dataset?.latestVersion).toBe(0n);
    expect((await fx.catalog.getDataset({ name: "doomed" })).dataset?.latestVersion).toBe(0n);
  });

  it("validates names, versions, page sizes, tokens and commits", async () => {
    const expectInvalid = async (call: Promise<unknown>, reason: string) => {
      const error = await failure(call);
      expect(error.code).toBe(Code.InvalidArgument);
      expect(errorReason(error)).toBe(reason);
    };
    for (const name of ["", "1abc", "a-b", "a b", "x".repeat(129), "é"]) {
      await expectInvalid(fx.catalog.createDataset({ name }), "INVALID_DATASET_NAME");
    }
    await expectInvalid(fx.catalog.getDataset({ name: "../x" }), "INVALID_DATASET_NAME");
    await expectInvalid(fx.catalog.listDatasets({ pageSize: 1001 }), "INVALID_PAGE_SIZE");
    await expectInvalid(fx.catalog.listDatasets({ pageToken: "garbage" }), "INVALID_PAGE_TOKEN");
    await fx.catalog.createDataset({ name: "checks" });
    expect((await failure(fx.catalog.createDataset({ name: "checks" }))).code).toBe(
      Code.AlreadyExists,
    );
    await expectInvalid(
      fx.catalog.listSnapshots({ dataset: "checks", pageSize: -1 }),
      "INVALID_PAGE_SIZE",
    );
    await expectInvalid(fx.catalog.commitSnapshot({ dataset: "checks" }), "NOTHING_TO_COMMIT");
    await expectInvalid(
      fx.catalog.commitSnapshot({ dataset: "checks", removeFiles: ["uploads/nope.parquet"] }),
      "FILE_NOT_IN_SNAPSHOT",
    );
    await expectInvalid(
      fx.catalog.commitSnapshot({
        dataset: "checks",
        addFiles: ["uploads/x.parquet"],
        idempotencyKey: "k".repeat(129),
      }),
      "INVALID_IDEMPOTENCY_KEY",
    );
    await expectInvalid(
      fx.catalog.commitSnapshot({ dataset: "checks", addFiles: ["_catalog/datasets/checks.json"] }),
      "RESERVED_KEY",
    );
    await expectInvalid(
      fx.catalog.createDataset({ name: "long", description: "d".repeat(4097) }),
      "TEXT_TOO_LONG",
    );
    const missing = await failure(
      fx.catalog.commitSnapshot({ dataset: "checks", addFiles: ["uploads/none.parquet"] }),
    );
    expect(missing.code).toBe(Code.NotFound);
    const noSource = await failure(
      fx.catalog.ingestObject({ dataset: "checks", sourceKey: "uploads/none.csv" }),
    );
    expect(noSource.code).toBe(Code.NotFound);
    const noDataset = await failure(
      fx.catalog.ingestObject({ dataset: "nothere", sourceKey: "uploads/people.csv" }),
    );
    expect(noDataset.code).toBe(Code.NotFound);
    expect((await failure(fx.catalog.getDataset({ name: "checks", version: 3n }))).code).toBe(
      Code.NotFound,
    );
    expect(
      (await failure(fx.catalog.diffSnapshots({ dataset: "checks", fromVersion: 1n }))).code,
    ).toBe(Code.NotFound);
  });

  it("names a dataset in any letter case, keeping it in lower case", async () => {
    const created = await fx.catalog.createDataset({ name: "Orders_EU" });
    expect(created.dataset?.name).toBe("orders_eu");
    expect((await fx.catalog.getDataset({ name: "ORDERS_eu" })).dataset?.name).toBe("orders_eu");
    expect((await failure(fx.catalog.createDataset({ name: "orders_EU" }))).code).toBe(
      Code.AlreadyExists,
    );
    const listed = await fx.catalog.listDatasets({});
    expect(listed.datasets.map((d) => d.name).filter((n) => n.startsWith("orders"))).toEqual([
      "orders_eu",
    ]);
  });

  it("pages through datasets in ascending name order", async () => {
    for (const name of ["page_b", "page_a", "page_c"]) await fx.catalog.createDataset({ name });
    const names: string[] = [];
    let pageToken = "";
    do {
      const page = await fx.catalog.listDatasets({ pageSize: 2, pageToken });
      expect(page.datasets.length).toBeLessThanOrEqual(2);
      names.push(...page.datasets.map((d) => d.name));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(names).toEqual([...names].sort());
    expect(names.filter((n) => n.startsWith("page_"))).toEqual(["page_a", "page_b", "page_c"]);
  });
});
