import { OutputClosedError } from "./cli-errors.js";

/** A stream the CLI writes to: stdout or stderr, or a capture in tests. */
export interface OutputStream {
  write(chunk: string | Uint8Array): boolean;
  once(event: "drain" | "error" | "close", listener: (...args: unknown[]) => void): unknown;
  off(event: "drain" | "error" | "close", listener: (...args: unknown[]) => void): unknown;
  on(event: "error", listener: (error: unknown) => void): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Where command output goes, with backpressure. */
export interface Output {
  /** True when a person is watching (progress bars, tables, summaries). */
  readonly isTTY: boolean;
  /**
   * Writes text or bytes and resolves once the stream can take more, so a
   * large result streams at the reader's pace instead of piling up in memory.
   *
   * @throws OutputClosedError once the reader went away (EPIPE).
   */
  write(chunk: string | Uint8Array): Promise<void>;
}

/**
 * Wraps a writable stream. A broken pipe (`... | head`) is remembered and
 * turns every later write into an OutputClosedError, so the command stops
 * (cancelling its RPC) instead of crashing on an unhandled stream error.
 */
export function createOutput(stream: OutputStream): Output {
  let closed: unknown;
  stream.on("error", (error) => {
    closed = error;
  });
  return {
    isTTY: stream.isTTY === true,
    async write(chunk) {
      if (closed !== undefined) throw new OutputClosedError("output closed");
      if (stream.write(chunk)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          stream.off("drain", done);
          stream.off("error", done);
          stream.off("close", done);
          resolve();
        };
        stream.once("drain", done);
        stream.once("error", done);
        stream.once("close", done);
      });
      if (closed !== undefined) throw new OutputClosedError("output closed");
    },
  };
}
