import type { Command } from "commander";
import { resolveToken } from "./auth-token.js";
import { UsageError } from "./cli-errors.js";
import { parseGatewayUrl } from "./cli-options.js";
import {
  createGatewayClients,
  DEFAULT_GATEWAY_URL,
  type GatewayClients,
} from "./gateway-clients.js";
import type { Output } from "./output.js";
import type { UploadProgressFactory } from "./upload-progress.js";

/** The options every command accepts, set before or after the command name. */
export interface GlobalOptions {
  /** The gateway's base URL: `--url`, else `LAKEHOUSE_URL`, else the local default. */
  readonly url: string;
  /** `--timeout` in milliseconds: one deadline over the whole command. */
  readonly timeoutMs: number | undefined;
  /** `--json`: listings and details as JSON instead of text tables. */
  readonly json: boolean;
}

/** What a command needs from its surroundings; tests hand in their own. */
export interface CliContext {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C. */
  readonly signal: AbortSignal;
  /** Upload progress for a person watching stderr, or none. */
  readonly uploadProgress: UploadProgressFactory;
  /** The whole of standard input as UTF-8 text (read once, when a command asks for it). */
  readStdin(): Promise<string>;
  /** The global options as they apply to `command`. */
  globals(command: Command): GlobalOptions;
  /** Clients for the gateway named by the global options, with the token from the environment. */
  connect(command: Command): Promise<GatewayClients>;
}

/** Builds the context of one CLI run. */
export function createCliContext(
  io: Pick<CliContext, "stdout" | "stderr" | "env" | "signal" | "uploadProgress" | "readStdin">,
): CliContext {
  const globals = (command: Command): GlobalOptions => {
    const options = command.optsWithGlobals<{ url?: string; timeout?: number; json?: boolean }>();
    let url = options.url;
    if (url === undefined) {
      const fromEnv = io.env.LAKEHOUSE_URL;
      try {
        url = fromEnv ? parseGatewayUrl(fromEnv) : DEFAULT_GATEWAY_URL;
      } catch (error) {
        throw new UsageError(`LAKEHOUSE_URL: ${(error as Error).message}`);
      }
    }
    return { url, timeoutMs: options.timeout, json: options.json === true };
  };
  return {
    ...io,
    globals,
    async connect(command) {
      const { url, timeoutMs } = globals(command);
      const token = await resolveToken(io.env);
      return createGatewayClients({ url, token, timeoutMs, signal: io.signal });
    },
  };
}
