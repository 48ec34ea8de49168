import type { CliContext } from "../cli-context.js";
import { createCliContext } from "../cli-context.js";
import type { Output } from "../output.js";
import { noUploadProgress } from "../upload-progress.js";

/** An Output that keeps what was written, for tests that run the CLI in-process. */
export interface CapturedOutput extends Output {
  /** Everything written, decoded as UTF-8. */
  text(): string;
}

/** Creates a capture that claims to be a terminal or not. */
export function captureOutput(isTTY: boolean): CapturedOutput {
  const chunks: Buffer[] = [];
  return {
    isTTY,
    async write(chunk) {
      chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk));
    },
    text: () => Buffer.concat(chunks).toString("utf8"),
  };
}

/** A CLI context over captured outputs and the given environment. */
export function testContext(
  env: NodeJS.ProcessEnv,
  options: { tty?: boolean; stdin?: string } = {},
): CliContext & { stdout: CapturedOutput; stderr: CapturedOutput } {
  const stdout = captureOutput(options.tty ?? false);
  const stderr = captureOutput(options.tty ?? false);
  const context = createCliContext({
    stdout,
    stderr,
    env,
    signal: new AbortController().signal,
    uploadProgress: noUploadProgress,
    readStdin: async () => options.stdin ?? "",
  });
  return { ...context, stdout, stderr };
}
