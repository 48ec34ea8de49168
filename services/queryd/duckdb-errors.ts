import { Code, ConnectError } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/** DuckDB error kinds that mean the statement itself is wrong: the caller can fix it. */
const CALLER_ERRORS = new Set([
  "Parser",
  "Binder",
  "Catalog",
  "Conversion",
  "Invalid Input",
  "Out of Range",
  "Mismatch Type",
  "Not implemented",
  "Syntax",
  "Constraint",
  "Invalid type",
]);

const DUCKDB_MESSAGE = /^(?:Failed to extract statements: )?([A-Za-z ]+?) Error: ([\s\S]*)$/;

/** What @duckdb/node-api says of a column type it cannot describe (DuckDB's TYPE, say). */
const UNREADABLE_TYPE = /^Unexpected type id: \d+$/;

/**
 * The one mapping of DuckDB errors to service errors. Statement errors keep
 * DuckDB's message (without its `LINE n:` excerpt, which quotes the rewritten
 * statement and server paths rather than the caller's SQL); a sandbox refusal
 * is PERMISSION_DENIED; running out of memory is RESOURCE_EXHAUSTED; a result
 * column of a type the client library cannot describe is INVALID_ARGUMENT; an
 * interrupt is DEADLINE_EXCEEDED or CANCELED as the call's signal says why it
 * ended. Anything else, and any error that is not DuckDB's, is returned
 * unchanged so it becomes INTERNAL.
 */
export function duckdbServiceError(error: unknown, signal?: AbortSignal): unknown {
  if (error instanceof ConnectError || !(error instanceof Error)) return error;
  if (UNREADABLE_TYPE.test(error.message)) {
    return serviceError(
      Code.InvalidArgument,
      "UNSUPPORTED_RESULT_TYPE",
      "a result column has a type that cannot be returned (such as the TYPE of get_type()); cast it to VARCHAR",
    );
  }
  const match = DUCKDB_MESSAGE.exec(error.message);
  if (match === null) return error;
  const kind = match[1] ?? "";
  const message = `${kind} Error: ${(match[2] ?? "").split(/\n+LINE \d+:/)[0]?.trim()}`;
  if (kind === "INTERRUPT" || kind === "Interrupt") return interruption(signal);
  if (kind === "Permission") return serviceError(Code.PermissionDenied, "SANDBOX_REFUSED", message);
  if (kind === "Out of Memory")
    return serviceError(Code.ResourceExhausted, "MEMORY_LIMIT", message);
  if (CALLER_ERRORS.has(kind)) {
    return serviceError(
      Code.InvalidArgument,
      kind === "Parser" ? "SYNTAX_ERROR" : "INVALID_QUERY",
      message,
    );
  }
  return error;
}

/** Why a query stopped early: its deadline passed, or its caller went away. */
export function interruption(signal?: AbortSignal): ConnectError {
  const reason = signal?.aborted ? ConnectError.from(signal.reason) : undefined;
  if (reason?.code === Code.DeadlineExceeded) {
    return serviceError(
      Code.DeadlineExceeded,
      "DEADLINE_EXCEEDED",
      "the query ran past its deadline and was interrupted",
    );
  }
  return serviceError(Code.Canceled, "CANCELED", "the query was canceled and interrupted");
}

/** Runs one DuckDB call and maps its failure with {@link duckdbServiceError}. */
export async function duckdbCall<T>(work: () => Promise<T> | T, signal?: AbortSignal): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw duckdbServiceError(error, signal);
  }
}
