import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason } from "./errors.js";
import { activeTraceFields } from "./telemetry/trace-fields.js";

/** Severity of a log line, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields attached to a log line; values must be JSON-serialisable and never secrets. */
export type LogFields = Record<string, unknown>;

/**
 * A structured logger: one JSON object per line on stdout, so log shippers and
 * tests parse lines without guessing. `child` adds fields to every line; a
 * line logged inside a span carries its `trace_id` and `span_id`.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  level?: LogLevel;
  /** Where lines go. Default: stdout. */
  write?: (line: string) => void;
  /** Fields added to every line, e.g. `{ service: "storaged" }`. */
  fields?: LogFields;
}

/** Creates a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const minimum = levelRank[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.fields ?? {};
  const log = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (levelRank[level] < minimum) return;
    write(
      JSON.stringify(
        { time: new Date().toISOString(), level, ...base, msg, ...activeTraceFields(), ...fields },
        errorAware,
      ),
    );
  };
  return {
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/**
 * Codes that say the server (or a service behind it) is at fault. Every other
 * code answers a call that could not be served as asked: bad input, a missing
 * or existing object, a refused caller, a limit, a lost race, a cancelled or
 * late call. Those are routine and their stacks say nothing new.
 */
const faultCodes: ReadonlySet<Code> = new Set([
  Code.Internal,
  Code.Unknown,
  Code.DataLoss,
  Code.Unavailable,
]);

/** How a failed call or query appears in a log line; see {@link describeFailure}. */
export interface FailureDescription {
  /** `error` for a fault of the server, `info` for a call refused as asked. */
  readonly level: LogLevel;
  /** The code's name, e.g. `InvalidArgument`; `Internal` for an error not thrown on purpose. */
  readonly code: string;
  /** The `ErrorDetail.reason`, when the error carries one. */
  readonly reason?: string;
  /** The message, without the code prefix. */
  readonly error: string;
  /** A fault's stack, and its cause (with its own stack), for diagnosis; absent otherwise. */
  readonly stack?: string;
  readonly cause?: unknown;
}

/**
 * Describes a failure for a log line, the one place where every service
 * decides how loud a failure is: a fault (INTERNAL, UNKNOWN, DATA_LOSS,
 * UNAVAILABLE, or any error not thrown on purpose) is logged at `error` with
 * its stack and cause; any other code is one `info` line with no stack, so
 * a user's bad SQL does not look like a crash in the logs.
 */
export function describeFailure(error: unknown): FailureDescription {
  const code = error instanceof ConnectError ? error.code : Code.Internal;
  const reason = error instanceof ConnectError ? errorReason(error) : "";
  const message =
    error instanceof ConnectError
      ? error.rawMessage
      : error instanceof Error
        ? error.message
        : String(error);
  const described = { code: Code[code], ...(reason === "" ? {} : { reason }), error: message };
  if (!faultCodes.has(code)) return { level: "info", ...described };
  return {
    level: "error",
    ...described,
    ...(error instanceof Error && error.stack !== undefined ? { stack: error.stack } : {}),
    ...(error instanceof Error && error.cause !== undefined ? { cause: error.cause } : {}),
  };
}

/** Errors serialise to their name, message and stack instead of `{}`. */
function errorAware(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === "bigint") return value.toString();
  return value;
}
