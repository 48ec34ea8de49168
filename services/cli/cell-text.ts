import type { JsonValue } from "../queryd/result/json-value.js";

/**
 * The text of one result value in a flat cell (CSV field, table cell): scalars
 * as their JSON text without quotes, nested values (lists, structs, maps,
 * intervals) as compact JSON. SQL NULL is `null` here; each format chooses how
 * to show it.
 */
export function cellText(value: JsonValue): string | null {
  if (value === null) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}
