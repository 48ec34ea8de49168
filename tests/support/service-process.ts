import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { serviceNodeArguments } from "../../services/kit/service-command.js";

/** A service started as its own process, the way the launcher starts it. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** The base URL from the service's `listening` log line. */
  readonly url: URL;
  /** Every log line printed so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** SIGTERM, then waits for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then waits for exit. */
  kill(): Promise<void>;
}

const root = resolve(import.meta.dirname, "../..");

/**
 * Starts `services/<name>/main.ts` listening on a free port with the given
 * environment (config overrides such as `LAKEHOUSE_STORAGED_LOCAL_ROOT`), and
 * resolves once it logs that it is listening.
 */
export function startServiceProcess(
  name: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  const upper = name.toUpperCase();
  const child = spawn(process.execPath, serviceNodeArguments(name), {
    cwd: root,
    env: { ...process.env, [`LAKEHOUSE_${upper}_LISTEN`]: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    stderr += text;
  });
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", resolveExit));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening: ${stderr}`));
    });
    let pending = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (text: string) => {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        logs.push(entry);
        if (entry.msg === "listening") {
          clearTimeout(timer);
          resolveStart({
            child,
            url: new URL(String(entry.url)),
            logs,
            async stop() {
              child.kill("SIGTERM");
              return exited;
            },
            async kill() {
              child.kill("SIGKILL");
              await exited;
            },
          });
        }
      }
    });
  });
}

/** Resolves once the service has logged a line with this `msg`; rejects after `timeoutMs`. */
export async function loggedEventually(
  service: ServiceProcess,
  message: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!service.logs.some((entry) => entry.msg === message)) {
    if (Date.now() > deadline) throw new Error(`no "${message}" logged within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
