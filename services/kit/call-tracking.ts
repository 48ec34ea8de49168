import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { identityOf } from "./identity/caller-identity.js";
import { describeFailure, type Logger } from "./logger.js";

/**
 * Counts calls in flight, streams included until their last message, so a
 * draining server knows when it may exit.
 */
export interface CallTracker {
  readonly interceptor: Interceptor;
  /** Calls currently running. */
  active(): number;
  /** Resolves once no call is running. */
  idle(): Promise<void>;
}

/** Creates a tracker; its interceptor must be installed on the server. */
export function createCallTracker(): CallTracker {
  let active = 0;
  let waiters: (() => void)[] = [];
  const finished = () => {
    active -= 1;
    if (active === 0) {
      for (const wake of waiters) wake();
      waiters = [];
    }
  };
  const interceptor: Interceptor = (next) => async (request) => {
    active += 1;
    const done = once(finished);
    try {
      const response = await next(request);
      if (!response.stream) {
        done();
        return response;
      }
      return { ...response, message: guard(response.message, done, (e) => e) };
    } catch (error) {
      done();
      throw error;
    }
  };
  return {
    interceptor,
    active: () => active,
    idle: () =>
      active === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
  };
}

/**
 * Logs every call with its code, duration and the caller's subject (once an
 * authentication interceptor has named one), and turns unexpected errors
 * into `internal error` for the client while the cause stays in the log.
 * How loud a failure is comes from {@link describeFailure}.
 */
export function createCallLogging(logger: Logger): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    const method = `${request.service.typeName}/${request.method.name}`;
    const log = (error?: unknown) => {
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      // Read at the end: the authentication interceptors run inside this one.
      const subject = identityOf(request.contextValues)?.subject;
      const call = { method, ...(subject === undefined ? {} : { subject }), durationMs };
      if (error === undefined) {
        logger.debug("rpc", { ...call, code: "ok" });
        return;
      }
      const { level, ...failure } = describeFailure(clientGone(error, request.signal));
      logger[level]("rpc", { ...call, ...failure });
    };
    try {
      const response = await next(request);
      if (!response.stream) {
        log();
        return response;
      }
      const done = once(log);
      const stream: StreamResponse = {
        ...response,
        message: guard(
          response.message,
          () => done(),
          (error) => {
            done(error);
            return publicError(error);
          },
        ),
      };
      return stream;
    } catch (error) {
      log(error);
      throw publicError(error);
    }
  };
}

/**
 * What a call that failed after its client went away (a reset stream, a
 * closed connection, its deadline) amounts to: the error the client's side
 * chose, CANCELED or DEADLINE_EXCEEDED, where the server only saw its streams
 * break ("Premature close", a reset with INTERNAL_ERROR). Errors thrown on
 * purpose keep their code.
 */
function clientGone(error: unknown, signal: AbortSignal): unknown {
  if (!signal.aborted) return error;
  if (
    error instanceof ConnectError &&
    error.code !== Code.Internal &&
    error.code !== Code.Unknown
  ) {
    return error;
  }
  const reason = ConnectError.from(signal.reason);
  return reason.code === Code.DeadlineExceeded
    ? reason
    : new ConnectError(reason.rawMessage, Code.Canceled);
}

/** Errors thrown on purpose pass as they are; anything else hides its internals. */
function publicError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  return new ConnectError("internal error", Code.Internal);
}

function once<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let called = false;
  return (...args) => {
    if (called) return;
    called = true;
    fn(...args);
  };
}

/**
 * Wraps a response stream: `onEnd` runs once when it ends for any reason
 * (completion, error or the consumer stopping early), and errors pass through
 * `mapError`.
 */
async function* guard<T>(
  source: AsyncIterable<T>,
  onEnd: () => void,
  mapError: (error: unknown) => unknown,
): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    throw mapError(error);
  } finally {
    onEnd();
  }
}
