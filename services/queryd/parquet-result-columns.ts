import { Code } from "@connectrpc/connect";
import { type DuckDBType, DuckDBTypeId } from "@duckdb/node-api";
import { serviceError } from "../kit/errors.js";
import { sqlIdentifier } from "../kit/sql-text.js";

/** 128-bit integers, which DuckDB's Parquet writer widens to DOUBLE. */
const WIDE_INTEGERS = new Set([DuckDBTypeId.HUGEINT, DuckDBTypeId.UHUGEINT]);

/** Types DuckDB's Parquet writer changes or cannot write at all, anywhere in a column. */
const UNWRITABLE: ReadonlyMap<DuckDBTypeId, string> = new Map([
  [
    DuckDBTypeId.INTERVAL,
    "Parquet keeps intervals to the millisecond only, without negative parts; cast it to VARCHAR",
  ],
  [DuckDBTypeId.UNION, "Parquet has no union type; pick one member or cast it to VARCHAR"],
]);

/**
 * The statement to COPY so that a query result written back as Parquet reads
 * back as it was. Top-level HUGEINT and UHUGEINT columns (`sum` of integers
 * is one) become DECIMAL(38,0): exact, or a conversion error past 38 digits,
 * where the writer would silently round them to DOUBLE.
 *
 * @throws INVALID_ARGUMENT, reason UNSUPPORTED_RESULT_TYPE, for an INTERVAL or
 * UNION anywhere in a column, or a 128-bit integer inside a nested one.
 */
export function parquetExactStatement(
  sql: string,
  names: readonly string[],
  types: readonly DuckDBType[],
): string {
  const widened: string[] = [];
  for (const [index, type] of types.entries()) {
    const name = names[index] ?? `#${index + 1}`;
    if (WIDE_INTEGERS.has(type.typeId)) {
      widened.push(name);
      continue;
    }
    const problem = unwritable(type, true);
    if (problem !== undefined) {
      throw serviceError(
        Code.InvalidArgument,
        "UNSUPPORTED_RESULT_TYPE",
        `column "${name}" cannot be written to Parquet as it is: ${problem}`,
        { column: name, type: type.toString() },
      );
    }
  }
  if (widened.length === 0) return sql;
  const replaced = widened
    .map((name) => `CAST(${sqlIdentifier(name)} AS DECIMAL(38,0)) AS ${sqlIdentifier(name)}`)
    .join(", ");
  return `SELECT * REPLACE (${replaced}) FROM (${sql})`;
}

/** Why `type` (a nested member when not `topLevel`) cannot be written exactly, if so. */
function unwritable(type: DuckDBType, topLevel: boolean): string | undefined {
  const reason = UNWRITABLE.get(type.typeId);
  if (reason !== undefined) return `it holds ${type.toString()}: ${reason}`;
  if (!topLevel && WIDE_INTEGERS.has(type.typeId)) {
    return `it holds ${type.toString()} inside a nested type, which Parquet would round to DOUBLE; cast it to DECIMAL(38,0)`;
  }
  for (const child of childTypes(type)) {
    const problem = unwritable(child, false);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function childTypes(type: DuckDBType): readonly DuckDBType[] {
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return [type.valueType];
    case DuckDBTypeId.STRUCT:
      return type.entryTypes;
    case DuckDBTypeId.MAP:
      return [type.keyType, type.valueType];
    default:
      return [];
  }
}
