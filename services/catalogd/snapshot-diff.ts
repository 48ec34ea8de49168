import { create } from "@bufbuild/protobuf";
import {
  ColumnChangeSchema,
  type DiffSnapshotsResponse,
  DiffSnapshotsResponseSchema,
  type Snapshot,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { schemaFingerprint } from "./schema-fingerprint.js";

/**
 * Compares two snapshots: columns by name (a column whose type, nullability or nesting
 * differs is changed, judged by the fingerprint of the column alone) and files by key.
 */
export function diffSnapshots(from: Snapshot, to: Snapshot): DiffSnapshotsResponse {
  const fromFields = from.schema?.fields ?? [];
  const toFields = to.schema?.fields ?? [];
  const fromByName = new Map(fromFields.map((f) => [f.name, f]));
  const toByName = new Map(toFields.map((f) => [f.name, f]));
  const fromKeys = new Set(from.files.map((f) => f.key));
  const toKeys = new Set(to.files.map((f) => f.key));
  return create(DiffSnapshotsResponseSchema, {
    addedColumns: toFields.filter((f) => !fromByName.has(f.name)),
    removedColumns: fromFields.filter((f) => !toByName.has(f.name)),
    changedColumns: toFields.flatMap((field) => {
      const before = fromByName.get(field.name);
      if (before === undefined) return [];
      const same =
        schemaFingerprint({ fields: [before] }) === schemaFingerprint({ fields: [field] });
      return same
        ? []
        : [create(ColumnChangeSchema, { name: field.name, from: before, to: field })];
    }),
    addedFiles: to.files.filter((f) => !fromKeys.has(f.key)),
    removedFiles: from.files.filter((f) => !toKeys.has(f.key)),
    fromVersion: from.version,
    toVersion: to.version,
  });
}
