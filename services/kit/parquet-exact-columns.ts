import { Code } from "@connectrpc/connect";
import { type DuckDBType, DuckDBTypeId } from "@duckdb/node-api";
import { serviceError } from "./errors.js";
import { sqlIdentifier } from "./sql-text.js";

/** 128-bit integers, which DuckDB's Parquet writer widens to DOUBLE. */
const WIDE_INTEGERS = new Set([DuckDBTypeId.HUGEINT, DuckDBTypeId.UHUGEINT]);

/** The exact type a 128-bit integer is written as: any value of up to 38 digits. */
const EXACT_WIDE_INTEGER = "DECIMAL(38,0)";

/** Types DuckDB's Parquet writer changes or cannot write at all, anywhere in a column. */
const UNWRITABLE: ReadonlyMap<DuckDBTypeId, string> = new Map([
  [
    DuckDBTypeId.INTERVAL,
    "Parquet keeps intervals to the millisecond only, without negative parts; cast it to VARCHAR",
  ],
  [DuckDBTypeId.UNION, "Parquet has no union type; pick one member or cast it to VARCHAR"],
]);

/**
 * The statement to COPY so that rows written as Parquet read back as they
 * were: every HUGEINT and UHUGEINT, at the top level or inside lists,
 * structs and maps (`sum` of integers is one; so is a JSON number past 64
 * bits), becomes DECIMAL(38,0): exact, or a conversion error past 38 digits,
 * where DuckDB's Parquet writer would silently round it to DOUBLE.
 *
 * @throws INVALID_ARGUMENT with `refusalReason` for an INTERVAL or UNION
 * anywhere in a column, which Parquet cannot hold as it is.
 */
export function parquetExactStatement(
  sql: string,
  names: readonly string[],
  types: readonly DuckDBType[],
  refusalReason: string,
): string {
  const replaced: string[] = [];
  for (const [index, type] of types.entries()) {
    const name = names[index] ?? `#${index + 1}`;
    const problem = unwritable(type);
    if (problem !== undefined) {
      throw serviceError(
        Code.InvalidArgument,
        refusalReason,
        `column "${name}" cannot be written to Parquet as it is: it holds ${problem}`,
        { column: name, type: type.toString() },
      );
    }
    if (holdsWideInteger(type)) {
      replaced.push(`CAST(${sqlIdentifier(name)} AS ${exactType(type)}) AS ${sqlIdentifier(name)}`);
    }
  }
  if (replaced.length === 0) return sql;
  return `SELECT * REPLACE (${replaced.join(", ")}) FROM (${sql})`;
}

/** What in `type` Parquet cannot hold, if anything. */
function unwritable(type: DuckDBType): string | undefined {
  const reason = UNWRITABLE.get(type.typeId);
  if (reason !== undefined) return `${type.toString()}: ${reason}`;
  for (const child of childTypes(type)) {
    const problem = unwritable(child);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function holdsWideInteger(type: DuckDBType): boolean {
  return WIDE_INTEGERS.has(type.typeId) || childTypes(type).some(holdsWideInteger);
}

/** `type` in SQL, with every 128-bit integer in it made DECIMAL(38,0). */
function exactType(type: DuckDBType): string {
  if (WIDE_INTEGERS.has(type.typeId)) return EXACT_WIDE_INTEGER;
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
      return `${exactType(type.valueType)}[]`;
    case DuckDBTypeId.ARRAY:
      return `${exactType(type.valueType)}[${type.length}]`;
    case DuckDBTypeId.STRUCT:
      return `STRUCT(${type.entryNames
        .map((name, i) => `${sqlIdentifier(name)} ${exactType(type.entryTypes[i]!)}`)
        .join(", ")})`;
    case DuckDBTypeId.MAP:
      return `MAP(${exactType(type.keyType)}, ${exactType(type.valueType)})`;
    default:
      return type.toString();
  }
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
