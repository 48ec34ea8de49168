import { ProviderFailure } from "./provider-errors.js";

/** How long a provider may take, by phase. */
export interface HttpTimeouts {
  /** A whole non-streaming answer. */
  readonly requestMs: number;
  /** Until the first line of a streamed answer. */
  readonly firstTokenMs: number;
  /** Between two lines of a streamed answer. */
  readonly idleMs: number;
}

/** Options of {@link createProviderHttp}. */
export interface ProviderHttpOptions {
  /** The server root; request paths are appended to it. */
  readonly baseUrl: string;
  /** Sent with every request (an `authorization` header, for instance). */
  readonly headers?: Record<string, string>;
  /** The largest answer, or streamed line, read; beyond it the answer is cut off. */
  readonly maxResponseBytes: number;
  readonly timeouts: HttpTimeouts;
}

/**
 * JSON over HTTP to one model server, with Node's fetch. Every request is
 * bounded: a timeout per phase, the caller's signal (cancelling the RPC aborts
 * the request and closes its connection), and a cap on the bytes read.
 * Failures are {@link ProviderFailure}s for the provider to map.
 */
export interface ProviderHttp {
  /** GET or POST and read the whole JSON answer. */
  json(path: string, body: unknown, signal: AbortSignal): Promise<unknown>;
  /** POST and yield the answer's lines as they arrive (NDJSON, or SSE). */
  lines(path: string, body: unknown, signal: AbortSignal): AsyncGenerator<string, void, undefined>;
}

/** Bytes of an error answer read to find the server's message. */
const ERROR_BODY_BYTES = 64 * 1024;

/** Creates the HTTP client of one provider. */
export function createProviderHttp(options: ProviderHttpOptions): ProviderHttp {
  const root = options.baseUrl.replace(/\/+$/, "");
  const open = async (path: string, body: unknown, signal: AbortSignal, accept: string) => {
    const init: RequestInit = {
      method: body === undefined ? "GET" : "POST",
      headers: {
        accept,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...options.headers,
      },
      signal,
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(`${root}${path}`, init);
    if (!response.ok) {
      const text = await readCapped(response, ERROR_BODY_BYTES, false);
      throw new ProviderFailure("status", errorMessage(response, text), response.status);
    }
    return response;
  };
  return {
    async json(path, body, signal) {
      const watchdog = createWatchdog(options.timeouts.requestMs);
      try {
        const response = await open(
          path,
          body,
          AbortSignal.any([signal, watchdog.signal]),
          "application/json",
        );
        const text = await readCapped(response, options.maxResponseBytes, true);
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw new ProviderFailure("malformed", `answer to ${path} is not JSON`);
        }
      } catch (error) {
        throw asFailure(error, watchdog, signal, path);
      } finally {
        watchdog.clear();
      }
    },
    async *lines(path, body, signal) {
      const watchdog = createWatchdog(options.timeouts.firstTokenMs);
      const stop = new AbortController();
      try {
        const response = await open(
          path,
          body,
          AbortSignal.any([signal, watchdog.signal, stop.signal]),
          "application/x-ndjson, text/event-stream",
        );
        if (response.body === null) return;
        const decoder = new TextDecoder();
        let pending = "";
        for await (const chunk of response.body) {
          pending += decoder.decode(chunk, { stream: true });
          let newline = pending.indexOf("\n");
          while (newline >= 0) {
            const line = pending.slice(0, newline).replace(/\r$/, "");
            pending = pending.slice(newline + 1);
            watchdog.rearm(options.timeouts.idleMs);
            yield line;
            newline = pending.indexOf("\n");
          }
          if (pending.length > options.maxResponseBytes) {
            throw new ProviderFailure(
              "oversized",
              `a streamed line exceeds ${options.maxResponseBytes} bytes`,
            );
          }
        }
        pending += decoder.decode();
        if (pending.trim() !== "") yield pending;
      } catch (error) {
        throw asFailure(error, watchdog, signal, path);
      } finally {
        watchdog.clear();
        // A consumer that stops early (a cut-off answer, a cancelled RPC) closes the connection.
        stop.abort();
      }
    },
  };
}

/** A timer whose signal aborts when a phase takes too long; re-armed as data arrives. */
interface Watchdog {
  readonly signal: AbortSignal;
  readonly fired: () => boolean;
  rearm(ms: number): void;
  clear(): void;
}

function createWatchdog(ms: number): Watchdog {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (delay: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new ProviderFailure("timeout", "timed out")), delay);
    timer.unref();
  };
  arm(ms);
  return {
    signal: controller.signal,
    fired: () => controller.signal.aborted,
    rearm: arm,
    clear: () => clearTimeout(timer),
  };
}

/** Classifies what fetch or the body stream threw. */
function asFailure(error: unknown, watchdog: Watchdog, signal: AbortSignal, path: string): unknown {
  if (error instanceof ProviderFailure) return error;
  if (signal.aborted) return error;
  if (watchdog.fired()) return new ProviderFailure("timeout", `no answer to ${path} in time`);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : "";
  const text = error instanceof Error ? error.message : String(error);
  return new ProviderFailure("unreachable", `${path}: ${text}${cause === "" ? "" : ` (${cause})`}`);
}

/**
 * Reads a body up to `maxBytes`. Beyond it the stream is cancelled and, when
 * `strict`, the answer refused; error bodies are only truncated.
 */
async function readCapped(response: Response, maxBytes: number, strict: boolean): Promise<string> {
  if (response.body === null) return "";
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      if (strict) throw new ProviderFailure("oversized", `answer exceeds ${maxBytes} bytes`);
      parts.push(chunk.subarray(0, chunk.byteLength - (total - maxBytes)));
      break;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString("utf8");
}

/** The server's own error text: Ollama `{"error": "..."}`, OpenAI `{"error": {"message"}}`, others. */
function errorMessage(response: Response, text: string): string {
  let message = text.trim().slice(0, 1000);
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error;
    if (typeof error === "string") message = error;
    else if (typeof error === "object" && error !== null && "message" in error) {
      message = String((error as { message: unknown }).message);
    } else if (typeof body.detail === "string") message = body.detail;
    else if (typeof body.message === "string") message = body.message;
  } catch {
    // Not JSON: the text itself is the message.
  }
  return `HTTP ${response.status}${message === "" ? "" : `: ${message}`}`;
}
