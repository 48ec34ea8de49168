import { create } from "@bufbuild/protobuf";
import {
  type DuckDBConnection,
  type DuckDBListValue,
  LIST,
  listValue,
  VARCHAR,
} from "@duckdb/node-api";
import {
  type ColumnStats,
  ColumnStatsSchema,
  type Field,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";

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
 * Columns compared per statement. Each column adds two subqueries, and DuckDB both caps a
 * statement's expression depth (1000, reached near 500 columns) and binds wide statements
 * in superlinear time, so wide files are compared in slices well below either.
 */
const COLUMNS_PER_STATEMENT = 100;

const CANDIDATE_LIST = LIST(VARCHAR);

/**
 * Picks the smallest min and largest max of each column by comparing the values as
 * their DuckDB type (text order would put "10" before "9"), and renders them back
 * through DuckDB so the result reads exactly as DuckDB's own `min(col)::VARCHAR`.
 * Candidates are bound as parameters, never pasted into SQL, so any text (quotes, NUL
 * characters) compares as it is. A value DuckDB cannot parse back, or a type without
 * ordered statistics, makes that column's min/max unknown ("").
 */
export async function typedMinMax(
  connection: DuckDBConnection,
  columns: readonly MinMaxCandidates[],
): Promise<{ min: string; max: string }[]> {
  const bounds: { min: string; max: string }[] = [];
  for (let start = 0; start < columns.length; start += COLUMNS_PER_STATEMENT) {
    const slice = columns.slice(start, start + COLUMNS_PER_STATEMENT);
    bounds.push(...(await typedMinMaxOfSlice(connection, slice)));
  }
  return bounds;
}

/** One statement of `typedMinMax`: two subqueries and two bound lists per column. */
async function typedMinMaxOfSlice(
  connection: DuckDBConnection,
  columns: readonly MinMaxCandidates[],
): Promise<{ min: string; max: string }[]> {
  const pick = (fn: "min" | "max", type: string, parameter: number) =>
    `(SELECT CASE WHEN count(TRY_CAST(v AS ${type})) = count(v) THEN ${fn}(TRY_CAST(v AS ${type}))::VARCHAR END FROM unnest($${parameter}::VARCHAR[]) AS t(v))`;
  const selects: string[] = [];
  const lists: DuckDBListValue[] = [];
  for (const [i, column] of columns.entries()) {
    // The type is the only input spliced into the SQL text: just the fixed names
    // `hasOrderedStats` accepts get there.
    if (!hasOrderedStats(column.type)) {
      selects.push(`NULL AS min${i}`, `NULL AS max${i}`);
      continue;
    }
    lists.push(listValue(column.mins), listValue(column.maxes));
    selects.push(`${pick("min", column.type, lists.length - 1)} AS min${i}`);
    selects.push(`${pick("max", column.type, lists.length)} AS max${i}`);
  }
  const prepared = await connection.prepare(`SELECT ${selects.join(", ")}`);
  try {
    if (lists.length > 0) {
      prepared.bind(
        lists,
        lists.map(() => CANDIDATE_LIST),
      );
    }
    const row = (await prepared.runAndReadAll()).getRows()[0] ?? [];
    const text = (value: unknown) => (typeof value === "string" ? value : "");
    return columns.map((_, i) => ({ min: text(row[2 * i]), max: text(row[2 * i + 1]) }));
  } finally {
    prepared.destroySync();
  }
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
  // Looked up by name once per part: wide files make a linear search per column quadratic.
  const partStats = parts.map((part) => {
    const byColumn = new Map<string, ColumnStats>();
    for (const stats of part.columnStats) {
      if (!byColumn.has(stats.column)) byColumn.set(stats.column, stats);
    }
    return { rowCount: part.rowCount, byColumn };
  });
  const merged = fields.map((field) => {
    let nullCount = 0n;
    let nullsKnown = true;
    let minMaxKnown = hasOrderedStats(field.type);
    const mins: string[] = [];
    const maxes: string[] = [];
    for (const part of partStats) {
      const stats = part.byColumn.get(field.name);
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
  const boundOf = new Map(ordered.map((m, i) => [m, bounds[i]]));
  return merged.map((m) => {
    const bound = boundOf.get(m);
    return create(ColumnStatsSchema, {
      column: m.field.name,
      min: bound?.min ?? "",
      max: bound?.max ?? "",
      nullCount: m.nullCount,
    });
  });
}
