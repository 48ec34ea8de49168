import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { errorReason } from "../kit/errors.js";

/** Exit status of a command that ran and succeeded. */
export const EXIT_OK = 0;
/** Exit status when the gateway (or a local resource) refused or failed the work. */
export const EXIT_FAILURE = 1;
/** Exit status when the command line itself is wrong, so nothing was attempted. */
export const EXIT_USAGE = 2;
/** Exit status after Ctrl-C, as shells report a SIGINT death (128 + 2). */
export const EXIT_INTERRUPTED = 130;

/**
 * A command line the CLI cannot act on (bad option value, missing argument).
 * Kept apart from RPC failures because scripts tell the two apart by exit
 * status: 2 for usage, 1 for everything the gateway answered.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * A failure found on this side of the wire (an unreadable local file), named
 * with the same snake_case code vocabulary as RPC errors so every error line
 * reads alike.
 */
export class LocalError extends Error {
  override readonly name = "LocalError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The reader of stdout went away (`lakehouse query ... | head`): not an error
 * worth a message, only a reason to stop producing output.
 */
export class OutputClosedError extends Error {
  override readonly name = "OutputClosedError";
}

/** What the CLI prints and returns for a failed command. */
export interface ErrorReport {
  /** The full stderr text, newline-terminated; empty when nothing is printed. */
  readonly text: string;
  readonly exitCode: number;
}

/**
 * Turns any failure into the one error line the CLI prints
 * (`error: <code>: <message> (reason: <REASON>)`) and its exit status. Expected
 * failures never print a stack; an unexpected one prints its stack only when
 * `LAKEHOUSE_DEBUG` is set, since it is then a bug worth reporting.
 */
export function reportError(error: unknown, debug: boolean): ErrorReport {
  if (error instanceof OutputClosedError) return { text: "", exitCode: EXIT_OK };
  if (error instanceof UsageError) {
    return { text: `error: usage: ${error.message}\n`, exitCode: EXIT_USAGE };
  }
  if (error instanceof LocalError) {
    return { text: `error: ${error.code}: ${error.message}\n`, exitCode: EXIT_FAILURE };
  }
  if (error instanceof ConnectError) {
    const reason = errorReason(error);
    const suffix = reason === "" ? "" : ` (reason: ${reason})`;
    const exitCode = error.code === Code.Canceled ? EXIT_INTERRUPTED : EXIT_FAILURE;
    return { text: `error: ${codeToString(error.code)}: ${error.rawMessage}${suffix}\n`, exitCode };
  }
  const message = error instanceof Error ? error.message : String(error);
  const stack = debug && error instanceof Error && error.stack ? `${error.stack}\n` : "";
  return { text: `error: internal: ${message}\n${stack}`, exitCode: EXIT_FAILURE };
}
