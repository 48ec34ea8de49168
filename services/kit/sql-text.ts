// DuckDB SQL quoting, for every statement built around caller-supplied names and paths.
/** Quotes a string as a SQL literal: paths and names are never spliced in raw. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Quotes a SQL identifier (a column or table alias). */
export function sqlIdentifier(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}
