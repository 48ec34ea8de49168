import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PutObjectRequest } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import type { StorageClient } from "../storaged/client.js";
import { putObject } from "../storaged/client.js";
import { type CommitDeps, commitChange, findKeyedCommit, prepareAddedFiles } from "./commit.js";
import { deleteDataset } from "./dataset-maintenance.js";
import type { DatasetRecord } from "./manifest.js";
import { createManifestStore } from "./manifest-store.js";
import { type CatalogFixture, startCatalogFixture } from "./testing/catalog-fixture.js";

let fx: CatalogFixture;
let parquet: Uint8Array;

beforeAll(async () => {
  fx = await startCatalogFixture();
  const path = `${fx.workDirectory}/one.parquet`;
  await fx.duckdb.withConnection((c) =>
    c.run(`COPY (SELECT 1::BIGINT AS v) TO '${path}' (FORMAT parquet)`),
  );
  parquet = new Uint8Array(await (await import("node:fs/promises")).readFile(path));
});

afterAll(async () => {
  await fx.close();
});

/** The real storage client, counting GetObject calls per key. */
function countingStorage(counts: Map<string, number>): StorageClient {
  return new Proxy(fx.storage, {
    get(target, property, receiver) {
      if (property === "getObject") {
        return (request: { key: string }, options?: object) => {
          counts.set(request.key, (counts.get(request.key) ?? 0) + 1);
          return target.getObject(request, options);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/**
 * The real storage client, calling `afterFirst` once, right after the first
 * PutObject whose key starts with `prefix` has landed.
 */
function afterFirstPut(prefix: string, afterFirst: () => Promise<unknown>): StorageClient {
  let done = false;
  return new Proxy(fx.storage, {
    get(target, property, receiver) {
      if (property !== "putObject") return Reflect.get(target, property, receiver);
      return async (requests: AsyncIterable<PutObjectRequest>, options?: object) => {
        let key = "";
        async function* watched() {
          for await (const request of requests) {
            if (request.part.case === "header") key = request.part.value.key;
            yield request;
          }
        }
        const response = await target.putObject(watched(), options);
        if (!done && key.startsWith(prefix)) {
          done = true;
          await afterFirst();
        }
        return response;
      };
    },
  });
}

/** The first manifest lands, then the committing process dies before hearing so. */
const dyingAfterFirstManifest = () =>
  afterFirstPut("_catalog/snapshots/", async () => {
    throw new Error("the committing process died");
  });

/** Right after the first idempotency marker, `compete` takes the version it names. */
const racedAfterMarker = (compete: () => Promise<unknown>) =>
  afterFirstPut("_catalog/idempotency/", compete);

function depsWith(storage: StorageClient): CommitDeps {
  return {
    storage,
    store: createManifestStore(storage),
    duckdb: async () => fx.duckdb,
    workDirectory: fx.workDirectory,
    now: () => new Date(),
    maxCommitAttempts: 100,
  };
}

let datasets = 0;
async function newDataset(deps: CommitDeps): Promise<DatasetRecord> {
  const record = {
    name: `c_${++datasets}`,
    id: crypto.randomUUID(),
    description: "",
    createTime: new Date(),
  };
  await deps.store.createDataset(record);
  return record;
}

const change = (
  dataset: DatasetRecord,
  added: Awaited<ReturnType<typeof prepareAddedFiles>>,
  key = "",
) => ({
  dataset,
  added,
  removeKeys: [],
  replaceAll: false,
  expectedParentVersion: 0n,
  idempotencyKey: key,
  keySearchedUpTo: 0n,
  message: "",
  author: "anonymous",
});

describe("commitChange", () => {
  it("reads each added file once per commit, however many races it loses", async () => {
    const counts = new Map<string, number>();
    const deps = depsWith(countingStorage(counts));
    const dataset = await newDataset(deps);
    const keys = Array.from({ length: 6 }, (_, i) => `uploads/once/${i}.parquet`);
    for (const key of keys) await putObject(fx.storage, key, parquet);
    const outcomes = await Promise.all(
      keys.map(async (key) =>
        commitChange(deps, change(dataset, await prepareAddedFiles(deps, dataset.name, [key]))),
      ),
    );
    expect(outcomes.map((o) => o.stored.snapshot.version).sort()).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    for (const key of keys) expect(counts.get(key)).toBe(1);
  });

  it("fails with NOT_FOUND, leaving no manifest, when the dataset was dropped (and maybe made again) before the commit landed", async () => {
    const deps = depsWith(fx.storage);
    const dropped = await newDataset(deps);
    await putObject(fx.storage, "uploads/late/a.parquet", parquet);
    await putObject(fx.storage, "uploads/late/b.parquet", parquet);
    await commitChange(
      deps,
      change(dropped, await prepareAddedFiles(deps, dropped.name, ["uploads/late/a.parquet"])),
    );
    const late = await prepareAddedFiles(deps, dropped.name, ["uploads/late/b.parquet"]);
    // Another replica drops it; this one still holds the record and its latest version.
    await deleteDataset(depsWith(fx.storage), dropped);
    const gone = await commitChange(deps, change(dropped, late)).catch((e: unknown) =>
      ConnectError.from(e),
    );
    expect((gone as ConnectError).code).toBe(Code.NotFound);
    expect(await deps.store.listVersions(dropped)).toEqual([]);

    const reborn = { ...dropped, id: crypto.randomUUID() };
    await deps.store.createDataset(reborn);
    const stale = await commitChange(deps, change(dropped, late)).catch((e: unknown) =>
      ConnectError.from(e),
    );
    expect((stale as ConnectError).code).toBe(Code.NotFound);
    expect(await deps.store.listVersions(dropped)).toEqual([]);
    expect(await deps.store.latestVersion(reborn)).toBe(0n);
  });

  it("commits racing repeats of one idempotency key once and replays the rest", async () => {
    const deps = depsWith(fx.storage);
    const dataset = await newDataset(deps);
    const keys = Array.from({ length: 4 }, (_, i) => `uploads/same-key/${i}.parquet`);
    for (const key of keys) await putObject(fx.storage, key, parquet);
    const prepared = await Promise.all(
      keys.map((key) => prepareAddedFiles(deps, dataset.name, [key])),
    );
    const outcomes = await Promise.all(
      prepared.map((added) => commitChange(deps, change(dataset, added, "once"))),
    );
    expect(outcomes.filter((o) => !o.replayed)).toHaveLength(1);
    expect(new Set(outcomes.map((o) => o.stored.snapshot.version))).toEqual(new Set([1n]));
    expect(await deps.store.latestVersion(dataset)).toBe(1n);
  });

  it("finds a keyed commit whose process died right after its manifest, however many commits follow", async () => {
    const dying = depsWith(dyingAfterFirstManifest());
    const deps = depsWith(fx.storage);
    const dataset = await newDataset(deps);
    await putObject(fx.storage, "uploads/died/first.parquet", parquet);
    const added = await prepareAddedFiles(deps, dataset.name, ["uploads/died/first.parquet"]);
    await expect(commitChange(dying, change(dataset, added, "died"))).rejects.toThrow("died");
    for (let i = 0; i < 10; i++) {
      const key = `uploads/died/${i}.parquet`;
      await putObject(fx.storage, key, parquet);
      await commitChange(deps, change(dataset, await prepareAddedFiles(deps, dataset.name, [key])));
    }
    const search = await findKeyedCommit(deps.store, dataset, "died");
    expect(search.found?.snapshot.version).toBe(1n);
    expect(search.found?.addedKeys).toEqual(["uploads/died/first.parquet"]);
  });

  it("removes the marker of a version it lost when it then gives up", async () => {
    const deps = depsWith(fx.storage);
    const dataset = await newDataset(deps);
    const keys = ["first", "rival", "keyed"].map((name) => `uploads/gave-up/${name}.parquet`);
    for (const key of keys) await putObject(fx.storage, key, parquet);
    const [first, rival, keyed] = await Promise.all(
      keys.map((key) => prepareAddedFiles(deps, dataset.name, [key])),
    );
    await commitChange(deps, change(dataset, first!));
    const raced = depsWith(racedAfterMarker(() => commitChange(deps, change(dataset, rival!))));
    const attempt = { ...change(dataset, keyed!, "gives-up"), expectedParentVersion: 1n };
    const error = await commitChange(raced, attempt).catch((e) => ConnectError.from(e));
    expect(error).toMatchObject({ code: Code.Aborted });
    expect(await deps.store.latestVersion(dataset)).toBe(2n);
    expect(await deps.store.readIdempotencyMarkers(dataset, "gives-up")).toEqual([]);
  });

  it("gives up with ABORTED TOO_MUCH_CONTENTION after its attempts are spent", async () => {
    const deps = { ...depsWith(fx.storage), maxCommitAttempts: 1 };
    const dataset = await newDataset(deps);
    const keys = Array.from({ length: 4 }, (_, i) => `uploads/contended/${i}.parquet`);
    for (const key of keys) await putObject(fx.storage, key, parquet);
    const prepared = await Promise.all(
      keys.map((key) => prepareAddedFiles(deps, dataset.name, [key])),
    );
    const results = await Promise.allSettled(
      prepared.map((added) => commitChange(deps, change(dataset, added))),
    );
    const failures = results.flatMap((r) =>
      r.status === "rejected" ? [ConnectError.from(r.reason)] : [],
    );
    const committed = results.length - failures.length;
    expect(committed).toBeGreaterThanOrEqual(1);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.every((f) => f.code === Code.Aborted)).toBe(true);
    expect(await deps.store.latestVersion(dataset)).toBe(BigInt(committed));
  });
});
