import { create } from "@bufbuild/protobuf";
import type { DuckDBConnection } from "@duckdb/node-api";
import {
  type ColumnStats,
  ColumnStatsSchema,
  type Field,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { sqlString } from "../kit/sql-text.js";

/**
 * Types whose min/max catalogd records. They have a total order DuckDB renders as text
 * and parses back unchanged; nested types, BLOBs and intervals get no min/max.
 */
const ORDERED_TYPE =
  /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|VARCHAR|DATE|TIME|TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE|UUID)$/;

/** Whether min/max statistics are kept for a column of this DuckDB type. */
export function hasOrderedStats(duckdbType: string): boolean {
  return ORDERED_TYPE.test(duckdbType);
}

/** Candidate values for one column's min and max, as DuckDB rendered them. */
export interface MinMaxCandidates {
  readonly type: string;
  readonly mins: readonly string[];
  readonly maxes: readonly string[];
}

/**
 * Picks the smallest min and largest max of each column by comparing the values as
 * their DuckDB type (text order would put "10" before "9"), and renders them back
 * through DuckDB so the result reads exactly as DuckDB's own `min(col)::VARCHAR`.
 * A value DuckDB cannot parse back makes that column's min/max unknown ("").
 */
export async function typedMinMax(
  connection: DuckDBConnection,
  columns: readonly MinMaxCandidates[],
): Promise<{ min: string; max: string }[]> {
  if (columns.length === 0) return [];
  const list = (values: readonly string[]) => `[${values.map(sqlString).join(", ")}]::VARCHAR[]`;
  const pick = (fn: "min" | "max", type: string, values: readonly string[]) =>
    `(SELECT CASE WHEN count(TRY_CAST(v AS ${type})) = count(v) THEN ${fn}(TRY_CAST(v AS ${type}))::VARCHAR END FROM unnest(${list(values)}) AS t(v))`;
  const selects = columns.flatMap((column, i) => [
    `${pick("min", column.type, column.mins)} AS min${i}`,
    `${pick("max", column.type, column.maxes)} AS max${i}`,
  ]);
  const reader = await connection.runAndReadAll(`SELECT ${selects.join(", ")}`);
  const row = reader.getRows()[0] ?? [];
  return columns.map((_, i) => ({
    min: typeof row[2 * i] === "string" ? (row[2 * i] as string) : "",
    max: typeof row[2 * i + 1] === "string" ? (row[2 * i + 1] as string) : "",
  }));
}

/** One part (a row group of a file, or a file of a snapshot) to fold into statistics. */
export interface StatsPart {
  readonly rowCount: bigint;
  readonly columnStats: readonly ColumnStats[];
}

/**
 * Folds per-part statistics into statistics over all parts, for the top-level columns of
 * `fields`. A null count is known only when every part knows it; a min/max only when
 * every part that holds a non-NULL value knows its own (a part whose values are all NULL
 * rightly has none).
 */
export async function mergeColumnStats(
  connection: DuckDBConnection,
  fields: readonly Field[],
  parts: readonly StatsPart[],
): Promise<ColumnStats[]> {
  const merged = fields.map((field) => {
    let nullCount = 0n;
    let nullsKnown = true;
    let minMaxKnown = hasOrderedStats(field.type);
    const mins: string[] = [];
    const maxes: string[] = [];
    for (const part of parts) {
      const stats = part.columnStats.find((s) => s.column === field.name);
      if (stats === undefined || stats.nullCount < 0n) nullsKnown = false;
      else nullCount += stats.nullCount;
      const allNull = stats !== undefined && stats.nullCount === part.rowCount;
      if (stats !== undefined && stats.min !== "" && stats.max !== "") {
        mins.push(stats.min);
        maxes.push(stats.max);
      } else if (!allNull) {
        minMaxKnown = false;
      }
    }
    return { field, nullCount: nullsKnown ? nullCount : -1n, minMaxKnown, mins, maxes };
  });
  const ordered = merged.filter((m) => m.minMaxKnown && m.mins.length > 0);
  const bounds = await typedMinMax(
    connection,
    ordered.map((m) => ({ type: m.field.type, mins: m.mins, maxes: m.maxes })),
  );
  return merged.map((m) => {
    const bound = bounds[ordered.indexOf(m)];
    return create(ColumnStatsSchema, {
      column: m.field.name,
      min: bound?.min ?? "",
      max: bound?.max ?? "",
      nullCount: m.nullCount,
    });
  });
}
