import { create } from "@bufbuild/protobuf";
import type { DuckDBType } from "@duckdb/node-api";
import { type ResultColumn, ResultColumnSchema } from "../../gen/lakehouse/query/v1/query_pb.js";
import { duckdbTypeName } from "./result/index.js";

/** The `ResultColumn`s of a result: names with DuckDB's own type names. */
export function resultColumns(
  names: readonly string[],
  types: readonly DuckDBType[],
): ResultColumn[] {
  return names.map((name, index) => {
    const type = types[index];
    return create(ResultColumnSchema, {
      name,
      type: type === undefined ? "" : duckdbTypeName(type),
    });
  });
}
