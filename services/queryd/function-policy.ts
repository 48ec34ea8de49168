import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/**
 * Functions user SQL may not call by name, wherever they appear. This is the
 * innermost of three layers:
 *
 * 1. The engine lock-down (`allowed_directories` = the file cache,
 *    `enable_external_access = false`, `lock_configuration = true`) makes
 *    DuckDB itself refuse any file, network, extension or setting access.
 * 2. The statement resolver accepts only SELECT statements and refuses every
 *    table function (`read_csv(...)`, `glob(...)`, `query(...)`, ...), so user
 *    SQL cannot name a file even inside the cache.
 * 3. This list refuses scalar functions that read the environment, settings,
 *    session state, the running statement or files, so a clear
 *    PERMISSION_DENIED answers before DuckDB runs. The running statement is
 *    the one queryd rewrote, naming the cached files' local paths, so
 *    `current_query()` would hand the server's layout to the caller.
 */
const DENIED_FUNCTIONS = new Set([
  "getenv",
  "current_setting",
  "current_query",
  "getvariable",
  "glob",
  "sniff_csv",
  "query",
  "query_table",
  "json_execute_serialized_sql",
  "which_secret",
  "write_log",
  "enable_logging",
  "disable_logging",
]);

const DENIED_PREFIXES = ["read_", "parquet_", "duckdb_", "pragma_", "sniff_", "iceberg_", "delta_"];

/**
 * Refuses a call to a function on the deny list.
 *
 * @throws PERMISSION_DENIED (FUNCTION_NOT_ALLOWED).
 */
export function checkFunctionAllowed(name: string): void {
  const lower = name.toLowerCase();
  if (DENIED_FUNCTIONS.has(lower) || DENIED_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
    throw serviceError(
      Code.PermissionDenied,
      "FUNCTION_NOT_ALLOWED",
      `function ${name} is not allowed: queries read only catalog datasets`,
      { function: name },
    );
  }
}
