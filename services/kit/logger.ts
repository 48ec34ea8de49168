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

/** Errors serialise to their name, message and stack instead of `{}`. */
function errorAware(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === "bigint") return value.toString();
  return value;
}
