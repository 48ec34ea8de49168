import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { putObject } from "../storaged/client.js";
import { createCatalogService } from "./catalog-service.js";
import { expireSnapshots } from "./dataset-maintenance.js";
import { createManifestStore, type ManifestStore } from "./manifest-store.js";
import { type CatalogFixture, startCatalogFixture } from "./testing/catalog-fixture.js";
import type { CleanupDeps } from "./unreferenced-files.js";

const HOUR = 3_600_000;

let fx: CatalogFixture;
let store: ManifestStore;
let deps: CleanupDeps;

beforeAll(async () => {
  fx = await startCatalogFixture();
  store = createManifestStore(fx.storage);
  deps = { storage: fx.storage, store };
});

afterAll(async () => {
  await fx.close();
});

/** Writes an object and returns when storaged recorded it as written, in ms. */
async function write(key: string): Promise<number> {
  const info = await putObject(fx.storage, key, Buffer.from(`bytes of ${key}`));
  return info.modifyTime.getTime();
}

/** Lets the clock pass `time`, so the next write is recorded strictly later. */
async function after(time: number): Promise<void> {
  while (Date.now() <= time) await sleep(1);
}

async function keysUnder(prefix: string): Promise<string[]> {
  const page = await fx.storage.listObjects({ prefix });
  return page.objects.map((o) => o.key).sort();
}

async function exists(key: string): Promise<boolean> {
  return fx.storage.headObject({ key }).then(
    () => true,
    () => false,
  );
}

/** Ingests a one-column CSV into `dataset`; returns the converted file's key. */
async function ingest(dataset: string, value: number, replaceAll = false): Promise<string> {
  const source = `uploads/${randomUUID()}.csv`;
  await putObject(fx.storage, source, Buffer.from(`v\n${value}\n`));
  const response = await fx.catalog.ingestObject({
    dataset,
    sourceKey: source,
    replaceAll,
    createIfMissing: true,
  });
  return response.file?.key ?? "";
}

describe("expireSnapshots and orphaned data files", () => {
  it("deletes an orphan older than the grace period, keeping referenced files, younger orphans and other keys", async () => {
    const referenced = await ingest("strays", 1);
    const outside = [
      "datasets/strays/notes.txt",
      "datasets/strays_other/data/old.parquet",
      "uploads/strays.parquet",
    ];
    for (const key of outside) await write(key);
    const old = `datasets/strays/data/${randomUUID()}.parquet`;
    const oldWritten = await write(old);
    await after(oldWritten);
    const young = `datasets/strays/data/${randomUUID()}.parquet`;
    await write(young);

    const result = await expireSnapshots(deps, await store.getDataset("strays"), 5n, {
      graceMs: HOUR,
      now: new Date(oldWritten + HOUR + 1),
    });

    expect(result).toEqual({ expiredVersions: [], deletedFiles: 1, deletedOrphans: 1 });
    expect(await keysUnder("datasets/strays/data/")).toEqual([referenced, young].sort());
    for (const key of outside) expect(await exists(key)).toBe(true);
    const latest = await fx.catalog.getDataset({ name: "strays" });
    expect(latest.dataset?.snapshot?.files.map((f) => f.key)).toEqual([referenced]);
  });

  it("counts orphans together with the files of expired snapshots", async () => {
    const first = await ingest("aging_strays", 1);
    const second = await ingest("aging_strays", 2, true);
    const orphan = `datasets/aging_strays/data/${randomUUID()}.parquet`;
    await write(orphan);

    const result = await expireSnapshots(deps, await store.getDataset("aging_strays"), 1n, {
      graceMs: HOUR,
      now: new Date(Date.now() + 2 * HOUR),
    });

    expect(result).toEqual({ expiredVersions: [1n], deletedFiles: 2, deletedOrphans: 1 });
    expect(await keysUnder("datasets/aging_strays/data/")).toEqual([second]);
    expect(await exists(first)).toBe(false);
  });

  it("reclaims a dropped predecessor's leftovers, but nothing through a record the name no longer leads to", async () => {
    await fx.catalog.createDataset({ name: "reborn" });
    const dropped = await store.getDataset("reborn");
    const leftover = `datasets/reborn/data/${randomUUID()}.parquet`;
    await write(leftover);
    await fx.catalog.deleteDataset({ name: "reborn" });
    const current = await ingest("reborn", 1);
    const sweep = { graceMs: HOUR, now: new Date(Date.now() + 2 * HOUR) };

    const stale = await expireSnapshots(deps, dropped, 1n, sweep);
    expect(stale.deletedOrphans).toBe(0);
    expect(await keysUnder("datasets/reborn/data/")).toEqual([current, leftover].sort());

    const fresh = await expireSnapshots(deps, await store.getDataset("reborn"), 1n, sweep);
    expect(fresh).toEqual({ expiredVersions: [], deletedFiles: 1, deletedOrphans: 1 });
    expect(await keysUnder("datasets/reborn/data/")).toEqual([current]);
  });

  it("ExpireSnapshots measures orphan ages with the service clock and its orphanGraceMs", async () => {
    const referenced = await ingest("rpc_strays", 1);
    const orphan = `datasets/rpc_strays/data/${randomUUID()}.parquet`;
    await write(orphan);
    const serviceAt = (now: Date, orphanGraceMs?: number) =>
      createClient(
        CatalogService,
        createRouterTransport((router) => {
          router.service(
            CatalogService,
            createCatalogService({
              storage: fx.storage,
              workDirectory: fx.workDirectory,
              duckdb: fx.duckdb,
              now: () => now,
              ...(orphanGraceMs === undefined ? {} : { orphanGraceMs }),
            }),
          );
        }),
      );
    const later = new Date(Date.now() + 2 * HOUR);

    const patient = await serviceAt(later, 3 * HOUR).expireSnapshots({
      dataset: "rpc_strays",
      keepLast: 1n,
    });
    expect(patient.deletedFiles).toBe(0n);
    expect(await exists(orphan)).toBe(true);

    const byDefault = await serviceAt(later).expireSnapshots({
      dataset: "rpc_strays",
      keepLast: 1n,
    });
    expect(byDefault.deletedFiles).toBe(1n);
    expect(await keysUnder("datasets/rpc_strays/data/")).toEqual([referenced]);
  });
});
