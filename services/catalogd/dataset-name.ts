import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Checks a dataset name and returns its canonical form. A dataset name is a SQL identifier of
 * 1 to 128 characters (a letter or `_`, then letters, digits or `_`), and like a table name in
 * DuckDB it ignores case: `Sales`, `SALES` and `sales` name one dataset, kept and shown in
 * lower case. Such names are also safe as object-key segments, and queryd can bind them as
 * table names without quoting.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason INVALID_DATASET_NAME.
 */
export function canonicalDatasetName(name: string): string {
  if (!SQL_IDENTIFIER.test(name)) {
    throw serviceError(
      Code.InvalidArgument,
      "INVALID_DATASET_NAME",
      "a dataset name is 1 to 128 characters: a letter or _ first, then letters, digits or _",
      { name: name.slice(0, 200) },
    );
  }
  return name.toLowerCase();
}
