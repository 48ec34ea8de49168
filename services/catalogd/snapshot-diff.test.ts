import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  type Field,
  FieldSchema,
  SnapshotSchema,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { columnDifference, diffSnapshots } from "./snapshot-diff.js";

const field = (name: string, type: string, nullable = true, children: Field[] = []) =>
  create(FieldSchema, { name, type, nullable, children });

const snapshot = (version: bigint, fields: Field[], keys: string[]) =>
  create(SnapshotSchema, {
    version,
    schema: { fields },
    files: keys.map((key) => ({ key, size: 1n, sha256: "0".repeat(64), rowCount: 1n })),
  });

describe("diffSnapshots", () => {
  it("lists added, removed and changed columns and added and removed files", () => {
    const before = snapshot(
      1n,
      [
        field("id", "BIGINT"),
        field("gone", "VARCHAR"),
        field("flag", "BOOLEAN"),
        field("tags", "VARCHAR[]", true, [field("element", "VARCHAR")]),
        field("same", "DATE"),
      ],
      ["a", "b"],
    );
    const after = snapshot(
      3n,
      [
        field("id", "INTEGER"),
        field("flag", "BOOLEAN", false),
        field("tags", "VARCHAR[]", true, [field("element", "VARCHAR", false)]),
        field("same", "DATE"),
        field("new", "DOUBLE"),
      ],
      ["b", "c"],
    );
    const diff = diffSnapshots(before, after);
    expect(diff.addedColumns.map((f) => f.name)).toEqual(["new"]);
    expect(diff.removedColumns.map((f) => f.name)).toEqual(["gone"]);
    expect(diff.changedColumns.map((c) => [c.name, c.from?.type, c.to?.type])).toEqual([
      ["id", "BIGINT", "INTEGER"],
      ["flag", "BOOLEAN", "BOOLEAN"],
      ["tags", "VARCHAR[]", "VARCHAR[]"],
    ]);
    expect(diff.addedFiles.map((f) => f.key)).toEqual(["c"]);
    expect(diff.removedFiles.map((f) => f.key)).toEqual(["a"]);
    expect([diff.fromVersion, diff.toVersion]).toEqual([1n, 3n]);
  });
});

describe("columnDifference", () => {
  it("names new, missing and retyped columns, or else the order", () => {
    const dataset = [field("id", "BIGINT"), field("name", "VARCHAR"), field("at", "DATE")];
    expect(
      columnDifference(dataset, [
        field("id", "INTEGER", false),
        field("name", "VARCHAR"),
        field("x", "BOOLEAN"),
      ]),
    ).toBe(
      'the file has "x", the dataset not; the dataset has "at", the file not; "id" is BIGINT in the dataset and INTEGER NOT NULL in the file',
    );
    expect(columnDifference(dataset, [dataset[1]!, dataset[0]!, dataset[2]!])).toBe(
      "the same columns come in another order",
    );
  });
});
