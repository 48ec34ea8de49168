import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { createClient } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { createInternalTransport } from "../kit/internal-transport.js";
import { splitListenAddress } from "../kit/listen-address.js";
import { serviceNodeArguments } from "../kit/service-command.js";

/** One service process the launcher runs. */
export interface ServiceProcess {
  /** The service name; its folder under services/ holds `main.ts`. */
  name: string;
  /** The address it listens on, `HOST:PORT`. */
  listen: string;
}

/** Options of {@link startSystem}. */
export interface StartSystemOptions {
  services: ServiceProcess[];
  /** The environment of every child; `LAKEHOUSE_CONFIG` is passed on unchanged. */
  env: NodeJS.ProcessEnv;
  /** Receives every line the children print. */
  onOutput: (line: string) => void;
  /** How long all services together may take to become healthy. */
  startTimeoutMs: number;
  /** How long children may drain after SIGTERM before they are killed. */
  stopTimeoutMs: number;
}

/** The running system. */
export interface RunningSystem {
  /** Resolves with the service name and exit code when any child exits on its own. */
  readonly exited: Promise<{ name: string; code: number | null }>;
  /** SIGTERM to each child in reverse start order, then SIGKILL to all after the stop timeout. */
  stop(): Promise<void>;
}

/**
 * Starts each service as its own process (`node` with {@link serviceNodeArguments}),
 * then waits until every one answers SERVING on the gRPC health service. If one
 * fails to start, all are stopped and the error names it.
 */
export async function startSystem(options: StartSystemOptions): Promise<RunningSystem> {
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let reportExit: (value: { name: string; code: number | null }) => void = () => {};
  const exited = new Promise<{ name: string; code: number | null }>((resolveExit) => {
    reportExit = resolveExit;
  });

  for (const service of options.services) {
    const child = spawn(
      process.execPath,
      serviceNodeArguments(service.name),
      // The IPC channel lets a child notice when the launcher dies without a word.
      // Its own process group keeps a terminal's Ctrl-C from reaching it directly:
      // the launcher stops the services in order.
      { env: options.env, stdio: ["ignore", "pipe", "pipe", "ipc"], detached: true },
    );
    children.set(service.name, child);
    forwardLines(child, options.onOutput);
    child.on("exit", (code) => {
      if (!stopping) reportExit({ name: service.name, code });
    });
  }

  // In reverse start order, each after the last has exited: a service drains
  // its calls while the peers they need (storaged last of all) still serve.
  const stop = async () => {
    stopping = true;
    const timer = setTimeout(() => {
      for (const child of children.values()) child.kill("SIGKILL");
    }, options.stopTimeoutMs);
    for (const child of [...children.values()].reverse()) {
      await new Promise<void>((resolveExit) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveExit();
        child.once("exit", () => resolveExit());
        child.kill("SIGTERM");
      });
    }
    clearTimeout(timer);
  };

  try {
    await Promise.race([
      Promise.all(
        options.services.map((service) => waitUntilServing(service, options.startTimeoutMs)),
      ),
      exited.then(({ name, code }) => {
        throw new Error(`${name} exited with code ${code} while starting`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { exited, stop };
}

/**
 * Refuses to start when a listen address is taken: the health checks would
 * otherwise be answered by whatever holds it (another lakehouse, say) and
 * report a system running that is not this one.
 *
 * @throws Error naming the service and its address.
 */
export async function assertListenAddressesFree(
  services: readonly ServiceProcess[],
): Promise<void> {
  for (const service of services) {
    const { host, port } = splitListenAddress(service.listen);
    await new Promise<void>((resolveFree, reject) => {
      const probe = createServer();
      probe.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          new Error(
            error.code === "EADDRINUSE"
              ? `${service.name}.listen ${service.listen} is in use (another lakehouse running?)`
              : `${service.name}.listen ${service.listen}: ${error.message}`,
          ),
        ),
      );
      probe.listen(port, host, () => probe.close(() => resolveFree()));
    });
  }
}

/** The URL clients on this machine use for a listen address (a wildcard host means loopback). */
export function localUrl(listen: string): string {
  const { host, port } = splitListenAddress(listen);
  const reachable = host === "0.0.0.0" || host === "::" || host === "[::]" ? "127.0.0.1" : host;
  return `http://${reachable}:${port}`;
}

async function waitUntilServing(service: ServiceProcess, timeoutMs: number): Promise<void> {
  const health = createClient(
    Health,
    createInternalTransport(localUrl(service.listen), { maxMessageBytes: 1024 * 1024 }),
  );
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer";
  while (Date.now() < deadline) {
    try {
      const { status } = await health.check({ service: "" }, { timeoutMs: 1_000 });
      if (status === ServingStatus.SERVING) return;
      lastError = `status ${ServingStatus[status]}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 150));
  }
  throw new Error(`${service.name} on ${service.listen} did not become healthy: ${lastError}`);
}

function forwardLines(child: ChildProcess, onOutput: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let pending = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (text: string) => {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line !== "") onOutput(line);
    });
  }
}

/** The config file the system uses: `$LAKEHOUSE_CONFIG`, else `./lakehouse.yaml` when present. */
export function configFile(env: NodeJS.ProcessEnv): string | undefined {
  if (env.LAKEHOUSE_CONFIG) return resolve(env.LAKEHOUSE_CONFIG);
  const local = resolve("lakehouse.yaml");
  return existsSync(local) ? local : undefined;
}
