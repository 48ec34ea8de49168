import { create } from "@bufbuild/protobuf";
import {
  ColumnChangeSchema,
  type DiffSnapshotsResponse,
  DiffSnapshotsResponseSchema,
  type Field,
  type Snapshot,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { schemaFingerprint } from "./schema-fingerprint.js";

/**
 * Compares two snapshots: columns by name (a column whose type, nullability or nesting
 * differs is changed, judged by the fingerprint of the column alone) and files by key.
 */
export function diffSnapshots(from: Snapshot, to: Snapshot): DiffSnapshotsResponse {
  const columns = diffColumns(from.schema?.fields ?? [], to.schema?.fields ?? []);
  const fromKeys = new Set(from.files.map((f) => f.key));
  const toKeys = new Set(to.files.map((f) => f.key));
  return create(DiffSnapshotsResponseSchema, {
    addedColumns: columns.added,
    removedColumns: columns.removed,
    changedColumns: columns.changed,
    addedFiles: to.files.filter((f) => !fromKeys.has(f.key)),
    removedFiles: from.files.filter((f) => !toKeys.has(f.key)),
    fromVersion: from.version,
    toVersion: to.version,
  });
}

/** Columns by name: added, removed, and changed (judged by the column's own fingerprint). */
function diffColumns(fromFields: readonly Field[], toFields: readonly Field[]) {
  const fromByName = new Map(fromFields.map((f) => [f.name, f]));
  const toByName = new Map(toFields.map((f) => [f.name, f]));
  return {
    added: toFields.filter((f) => !fromByName.has(f.name)),
    removed: fromFields.filter((f) => !toByName.has(f.name)),
    changed: toFields.flatMap((field) => {
      const before = fromByName.get(field.name);
      if (before === undefined) return [];
      const same =
        schemaFingerprint({ fields: [before] }) === schemaFingerprint({ fields: [field] });
      return same
        ? []
        : [create(ColumnChangeSchema, { name: field.name, from: before, to: field })];
    }),
  };
}

/**
 * How a file's columns differ from a dataset's, in words for an error message:
 * new and missing columns, columns of another type, or else their order.
 */
export function columnDifference(dataset: readonly Field[], file: readonly Field[]): string {
  const { added, removed, changed } = diffColumns(dataset, file);
  const typeOf = (field: Field | undefined) =>
    field === undefined ? "?" : `${field.type}${field.nullable ? "" : " NOT NULL"}`;
  const names = (fields: readonly Field[]) => fields.map((f) => `"${f.name}"`).join(", ");
  const parts = [
    ...(added.length > 0 ? [`the file has ${names(added)}, the dataset not`] : []),
    ...(removed.length > 0 ? [`the dataset has ${names(removed)}, the file not`] : []),
    ...changed.map(
      (c) => `"${c.name}" is ${typeOf(c.from)} in the dataset and ${typeOf(c.to)} in the file`,
    ),
  ];
  return parts.length > 0 ? parts.join("; ") : "the same columns come in another order";
}
