import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SchemaSchema, SnapshotSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { errorReason } from "../kit/errors.js";
import { putObject } from "../storaged/client.js";
import { type DatasetRecord, encodeManifest, type StoredSnapshot } from "./manifest.js";
import { createManifestStore, type ManifestStore } from "./manifest-store.js";
import { schemaFingerprint } from "./schema-fingerprint.js";
import { type CatalogFixture, startCatalogFixture } from "./testing/catalog-fixture.js";

let fx: CatalogFixture;
let store: ManifestStore;

beforeAll(async () => {
  fx = await startCatalogFixture();
  store = createManifestStore(fx.storage);
});

afterAll(async () => {
  await fx.close();
});

let datasets = 0;
async function newDataset(): Promise<DatasetRecord> {
  const record: DatasetRecord = {
    name: `ds_${++datasets}`,
    id: crypto.randomUUID(),
    description: "",
    createTime: new Date("2026-01-02T03:04:05.000Z"),
  };
  await store.createDataset(record);
  return record;
}

function snapshotAt(version: bigint, key = ""): StoredSnapshot {
  const schema = create(SchemaSchema, {
    fields: [{ name: "v", type: "BIGINT", nullable: true, children: [] }],
  });
  return {
    idempotencyKey: key,
    addedKeys: [],
    snapshot: create(SnapshotSchema, {
      version,
      parentVersion: version - 1n,
      commitTime: timestampFromDate(new Date()),
      author: "anonymous",
      schema,
      schemaFingerprint: schemaFingerprint(schema),
    }),
  };
}

async function commitVersions(record: DatasetRecord, count: number): Promise<void> {
  for (let v = 1n; v <= BigInt(count); v++) {
    expect(await store.writeSnapshot(record, snapshotAt(v))).toBe(true);
  }
}

const keyOf = (record: DatasetRecord, version: bigint) =>
  `_catalog/snapshots/${record.id}/${version.toString().padStart(20, "0")}.json`;

describe("ManifestStore", () => {
  it("keeps a dataset record create-only and reads it back", async () => {
    const record = await newDataset();
    expect(await store.getDataset(record.name)).toEqual(record);
    const again = await store.createDataset(record).catch((e: unknown) => ConnectError.from(e));
    expect(again).toBeInstanceOf(ConnectError);
    expect((again as ConnectError).code).toBe(Code.AlreadyExists);
    const missing = await store.getDataset("nobody").catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.NotFound);
  });

  it("writes each version once: a second write of the same version loses", async () => {
    const record = await newDataset();
    expect(await store.writeSnapshot(record, snapshotAt(1n))).toBe(true);
    expect(await store.writeSnapshot(record, snapshotAt(1n, "other"))).toBe(false);
    expect((await store.readSnapshot(record, 1n)).idempotencyKey).toBe("");
  });

  it("parses a manifest once and shares it frozen", async () => {
    const record = await newDataset();
    await commitVersions(record, 1);
    const first = await store.readSnapshot(record, 1n);
    expect(await store.readSnapshot(record, 1n)).toBe(first);
    expect(Object.isFrozen(first.snapshot.schema?.fields)).toBe(true);
    expect(() => {
      (first.snapshot as { author: string }).author = "mallory";
    }).toThrow(TypeError);
    expect((await store.readSnapshot(record, 1n)).snapshot.author).toBe("anonymous");
  });

  it("does not serve from memory a snapshot another replica expired, but keeps serving the latest", async () => {
    const record = await newDataset();
    await commitVersions(record, 3);
    const replica = createManifestStore(fx.storage);
    expect(await replica.latestVersion(record)).toBe(3n);
    const remembered = await replica.readSnapshot(record, 1n);
    expect(remembered.snapshot.version).toBe(1n);
    await store.deleteSnapshot(record, 1n);
    const expired = await replica
      .readSnapshot(record, 1n)
      .catch((error: unknown) => ConnectError.from(error));
    expect((expired as ConnectError).code).toBe(Code.NotFound);
    expect((await replica.readSnapshot(record, 3n)).snapshot.version).toBe(3n);
  });

  it("finds the latest version without a hint, with a stale hint and with a hint to an expired version", async () => {
    const record = await newDataset();
    expect(await store.latestVersion(record)).toBe(0n);
    await commitVersions(record, 4);
    expect(await store.latestVersion(record)).toBe(4n);
    await store.writeHint(record, 2n);
    expect(await store.latestVersion(record)).toBe(4n);
    await store.writeHint(record, 1n);
    await store.deleteSnapshot(record, 1n);
    await store.deleteSnapshot(record, 2n);
    expect(await store.latestVersion(record)).toBe(4n);
    expect(await store.listVersions(record)).toEqual([3n, 4n]);
  });

  it("reports a manifest that does not parse or does not add up as DATA_LOSS CORRUPT_MANIFEST", async () => {
    const record = await newDataset();
    const healthy = await newDataset();
    await commitVersions(record, 2);
    await commitVersions(healthy, 1);
    await putObject(fx.storage, keyOf(record, 1n), Buffer.from("not json"));
    const tampered = snapshotAt(2n);
    tampered.snapshot.rowCount = 99n;
    await putObject(fx.storage, keyOf(record, 2n), encodeManifest(record.id, tampered));
    for (const version of [1n, 2n]) {
      const error = await store
        .readSnapshot(record, version)
        .catch((e: unknown) => ConnectError.from(e));
      expect((error as ConnectError).code).toBe(Code.DataLoss);
      expect(errorReason(error)).toBe("CORRUPT_MANIFEST");
    }
    expect((await store.readSnapshot(healthy, 1n)).snapshot.version).toBe(1n);
  });

  it("refuses a manifest copied from another dataset", async () => {
    const source = await newDataset();
    const target = await newDataset();
    await commitVersions(source, 1);
    await putObject(fx.storage, keyOf(target, 1n), encodeManifest(source.id, snapshotAt(1n)));
    const error = await store.readSnapshot(target, 1n).catch((e: unknown) => ConnectError.from(e));
    expect(errorReason(error)).toBe("CORRUPT_MANIFEST");
  });

  it("stores idempotency markers per dataset, key and version, listed newest first", async () => {
    const record = await newDataset();
    const other = await newDataset();
    expect(await store.readIdempotencyMarkers(record, "k")).toEqual([]);
    for (const version of [7n, 12n, 9n]) await store.writeIdempotencyMarker(record, "k", version);
    await store.writeIdempotencyMarker(record, "another key", 8n);
    expect(await store.readIdempotencyMarkers(record, "k")).toEqual([12n, 9n, 7n]);
    expect(await store.readIdempotencyMarkers(other, "k")).toEqual([]);
    await store.deleteIdempotencyMarker(record, "k", 12n);
    expect(await store.readIdempotencyMarkers(record, "k")).toEqual([9n, 7n]);
  });

  it("reads a record with its latest version as another replica left them", async () => {
    const record = await newDataset();
    await commitVersions(record, 1);
    expect(await store.getDatasetWithLatest(record.name)).toEqual({ record, latest: 1n });

    // Another catalogd (its own store over the same storage) commits version 2.
    const replica = createManifestStore(fx.storage);
    expect(await replica.writeSnapshot(record, snapshotAt(2n))).toBe(true);
    expect((await store.getDatasetWithLatest(record.name)).latest).toBe(2n);

    // The replica drops the dataset and creates it again under the same name.
    await replica.deleteCatalogObjects(record);
    await replica.deleteDataset(record.name);
    const error = await store.getDatasetWithLatest(record.name).then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect(error?.code).toBe(Code.NotFound);
    const reborn: DatasetRecord = { ...record, id: crypto.randomUUID() };
    await replica.createDataset(reborn);
    expect(await store.getDatasetWithLatest(record.name)).toEqual({ record: reborn, latest: 0n });
    expect(await replica.writeSnapshot(reborn, snapshotAt(1n))).toBe(true);
    expect(await store.getDatasetWithLatest(record.name)).toEqual({ record: reborn, latest: 1n });
  });
});
