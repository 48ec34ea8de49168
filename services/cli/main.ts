import { Code, ConnectError } from "@connectrpc/connect";
import { createCliContext } from "./cli-context.js";
import { EXIT_INTERRUPTED } from "./cli-errors.js";
import { runCli } from "./cli-program.js";
import { createOutput } from "./output.js";
import { createTerminalUploadProgress, noUploadProgress } from "./upload-progress.js";

const interrupt = new AbortController();
process.once("SIGINT", () => {
  // The first Ctrl-C cancels the running call and lets the command report it;
  // a second one ends the process at once.
  interrupt.abort(new ConnectError("interrupted", Code.Canceled));
  process.once("SIGINT", () => process.exit(EXIT_INTERRUPTED));
});

const context = createCliContext({
  stdout: createOutput(process.stdout),
  stderr: createOutput(process.stderr),
  env: process.env,
  signal: interrupt.signal,
  uploadProgress: process.stderr.isTTY
    ? createTerminalUploadProgress(process.stderr)
    : noUploadProgress,
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
});

const exitCode = await runCli(process.argv.slice(2), context);

/** Resolves once everything written so far has left the process (or the stream is gone). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}

// Exit explicitly once output is flushed: a call cancelled part-way (the reader of
// stdout went away) can leave the HTTP/2 session referenced, which would keep an
// otherwise finished command alive.
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(exitCode);
