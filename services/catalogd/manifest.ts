import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { z } from "zod";
import { type Snapshot, SnapshotSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";
import { schemaFingerprint } from "./schema-fingerprint.js";

/** A dataset's identity, written once by CreateDataset. */
export interface DatasetRecord {
  readonly name: string;
  /**
   * Random per creation: snapshots live under the id, not the name, so a dataset
   * deleted and created again never sees leftovers of its predecessor.
   */
  readonly id: string;
  readonly description: string;
  readonly createTime: Date;
}

/** A snapshot as stored: the Snapshot message plus what commits need to replay. */
export interface StoredSnapshot {
  /** The full snapshot, files included. */
  readonly snapshot: Snapshot;
  /** The commit's idempotency key; "" when none was given. */
  readonly idempotencyKey: string;
  /** Keys of the files this commit added (an ingest answers with its file on replay). */
  readonly addedKeys: readonly string[];
}

const DATASET_FORMAT = "lakehouse.catalog.dataset.v1";
const MANIFEST_FORMAT = "lakehouse.catalog.manifest.v1";

const datasetJson = z.strictObject({
  format: z.literal(DATASET_FORMAT),
  name: z.string(),
  id: z.string().regex(/^[0-9a-f-]{36}$/),
  description: z.string(),
  createTime: z.iso.datetime(),
});

const manifestJson = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  datasetId: z.string(),
  idempotencyKey: z.string(),
  addedKeys: z.array(z.string()),
  // The Snapshot message in canonical Protobuf JSON: every field the RPCs return.
  snapshot: z.record(z.string(), z.unknown()),
});

function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(`${JSON.stringify(value, null, 1)}\n`, "utf8");
}

/** Encodes a dataset record as the JSON object stored for it. */
export function encodeDatasetRecord(record: DatasetRecord): Uint8Array {
  return encodeJson({
    format: DATASET_FORMAT,
    name: record.name,
    id: record.id,
    description: record.description,
    createTime: record.createTime.toISOString(),
  });
}

/**
 * Parses a stored dataset record.
 *
 * @throws ConnectError DATA_LOSS, reason CORRUPT_MANIFEST, when it is not one for `name`.
 */
export function parseDatasetRecord(bytes: Uint8Array, name: string): DatasetRecord {
  const parsed = datasetJson.safeParse(parseJson(bytes));
  if (!parsed.success || parsed.data.name !== name) {
    throw corrupt(name, "the dataset record is not valid");
  }
  const { id, description, createTime } = parsed.data;
  return { name, id, description, createTime: new Date(createTime) };
}

/** Encodes a snapshot manifest. */
export function encodeManifest(datasetId: string, stored: StoredSnapshot): Uint8Array {
  return encodeJson({
    format: MANIFEST_FORMAT,
    datasetId,
    idempotencyKey: stored.idempotencyKey,
    addedKeys: stored.addedKeys,
    snapshot: toJson(SnapshotSchema, stored.snapshot),
  });
}

/**
 * Parses and checks a manifest: it must be the one for this dataset and version, and
 * agree with itself (fingerprint, totals, parent). A manifest that does not is reported,
 * never repaired or skipped: serving a wrong file list would be worse than failing.
 *
 * @throws ConnectError DATA_LOSS, reason CORRUPT_MANIFEST.
 */
export function parseManifest(
  bytes: Uint8Array,
  dataset: DatasetRecord,
  version: bigint,
): StoredSnapshot {
  const fail = (why: string) => corrupt(dataset.name, `snapshot ${version}: ${why}`, version);
  const parsed = manifestJson.safeParse(parseJson(bytes));
  if (!parsed.success) throw fail("the manifest is not valid");
  if (parsed.data.datasetId !== dataset.id) throw fail("the manifest belongs to another dataset");
  let snapshot: Snapshot;
  try {
    snapshot = fromJson(SnapshotSchema, parsed.data.snapshot as JsonValue);
  } catch {
    throw fail("the snapshot is not valid");
  }
  const files = snapshot.files;
  const sum = (pick: (f: (typeof files)[number]) => bigint) =>
    files.reduce((total, f) => total + pick(f), 0n);
  const checks: [boolean, string][] = [
    [snapshot.version === version, "the version does not match its key"],
    [snapshot.parentVersion === version - 1n, "the parent version is not the previous one"],
    [snapshot.schema !== undefined, "the schema is missing"],
    [
      snapshot.schema !== undefined &&
        schemaFingerprint(snapshot.schema) === snapshot.schemaFingerprint,
      "the schema fingerprint does not match the schema",
    ],
    [snapshot.fileCount === BigInt(files.length), "the file count does not match the files"],
    [snapshot.rowCount === sum((f) => f.rowCount), "the row count does not match the files"],
    [snapshot.size === sum((f) => f.size), "the size does not match the files"],
    [
      files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.key !== ""),
      "a file entry is not valid",
    ],
    [snapshot.commitTime !== undefined, "the commit time is missing"],
  ];
  const failed = checks.find(([ok]) => !ok);
  if (failed !== undefined) throw fail(failed[1]);
  return {
    snapshot,
    idempotencyKey: parsed.data.idempotencyKey,
    addedKeys: parsed.data.addedKeys,
  };
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return undefined;
  }
}

function corrupt(dataset: string, message: string, version?: bigint) {
  return serviceError(Code.DataLoss, "CORRUPT_MANIFEST", `dataset "${dataset}": ${message}`, {
    dataset,
    ...(version === undefined ? {} : { version: String(version) }),
  });
}
