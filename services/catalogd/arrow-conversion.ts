import type { DuckDBType, DuckDBValue } from "@duckdb/node-api";
import type { Data } from "apache-arrow";

/**
 * How values of one Arrow type become values of one DuckDB type. Chosen once per column
 * (recursively for nested types), so per value only the conversion itself runs.
 */
export interface ArrowConversion {
  /** The exact DuckDB type; `String(type)` is its SQL spelling. */
  readonly type: DuckDBType;
  /** The value at `index` of `data`, `null` for a NULL slot. */
  read(data: Data, index: number): DuckDBValue;
}

/**
 * Builds the error for a value its DuckDB type cannot hold exactly (`why` completes
 * "the column holds …"); the conversion throws it rather than change the value.
 */
export type ValueRefusal = (why: string) => Error;

/** A conversion from a reader of present values: NULL slots are handled here, once. */
export function arrowConversion(
  type: DuckDBType,
  readPresent: (data: Data, index: number) => DuckDBValue,
): ArrowConversion {
  return {
    type,
    read: (data, index) => (data.getValid(index) ? readPresent(data, index) : null),
  };
}
