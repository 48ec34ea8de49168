import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";
import { CatalogService } from "../gen/lakehouse/catalog/v1/catalog_pb.js";
import { localKeyFiles } from "../services/kit/identity/local-keys.js";
import { createInternalTransport } from "../services/kit/internal-transport.js";

const services = ["storaged", "catalogd", "queryd", "aibridge", "gateway"] as const;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A config file placing every service on its own free port and its data in a
 * temp folder, which can also be the launcher's working directory (it sees
 * the repository's packages there).
 */
async function systemConfig(overrides: Record<string, Record<string, unknown>> = {}) {
  const folder = mkdtempSync(join(tmpdir(), "launcher-"));
  symlinkSync(resolve("node_modules"), join(folder, "node_modules"));
  const ports = Object.fromEntries(
    await Promise.all(services.map(async (name) => [name, await freePort()])),
  );
  // No peer URLs and no service directories: the launcher derives them from
  // the listen addresses and the data directory.
  const config = {
    launcher: { dataDirectory: join(folder, "data") },
    storaged: { listen: `127.0.0.1:${ports.storaged}` },
    catalogd: { listen: `127.0.0.1:${ports.catalogd}` },
    queryd: { listen: `127.0.0.1:${ports.queryd}` },
    aibridge: { listen: `127.0.0.1:${ports.aibridge}` },
    gateway: { listen: `127.0.0.1:${ports.gateway}` },
  };
  for (const [section, values] of Object.entries(overrides))
    Object.assign(config[section as keyof typeof config], values);
  const file = join(folder, "lakehouse.yaml");
  writeFileSync(file, stringify(config));
  return { file, folder, ports, dataDirectory: config.launcher.dataDirectory };
}

const launchers: ChildProcess[] = [];
afterEach(() => {
  for (const launcher of launchers.splice(0)) launcher.kill("SIGKILL");
});

/**
 * `npm start`, or the launcher process itself when its own pid or working
 * directory matters.
 */
function startLauncher(configFile: string, via: "npm" | "node" = "npm", cwd = process.cwd()) {
  const command =
    via === "npm"
      ? (["npm", ["start", "--silent"]] as const)
      : ([process.execPath, ["--import", "tsx", resolve("services/launcher/main.ts")]] as const);
  // Its own process group, as a terminal's foreground job: Ctrl-C is SIGINT to the group.
  const child = spawn(command[0], command[1], {
    cwd,
    env: { ...process.env, LAKEHOUSE_CONFIG: configFile },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  launchers.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal)),
  );
  return { child, exited, output: () => stdout, errors: () => stderr };
}

/** Waits (a minute at most) for the launcher to say the system is running. */
async function untilRunning(run: { output(): string }): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!run.output().includes("Lakehouse is running") && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The services in the order their `stopped` lines appear in the launcher's output. */
function stoppedInOrder(output: string): string[] {
  return output
    .split("\n")
    .filter((line) => line.includes('"msg":"stopped"'))
    .map((line) => JSON.parse(line).service);
}

async function isServing(port: number): Promise<boolean> {
  const health = createClient(
    Health,
    createInternalTransport(`http://127.0.0.1:${port}`, { maxMessageBytes: 1 << 20 }),
  );
  try {
    return (
      (await health.check({ service: "" }, { timeoutMs: 1000 })).status === ServingStatus.SERVING
    );
  } catch {
    return false;
  }
}

describe("npm start", () => {
  it("starts the five services, prints the gateway address and a working admin token, and stops them all on SIGTERM", async () => {
    const { file, ports, dataDirectory } = await systemConfig();
    const run = startLauncher(file);
    await untilRunning(run);
    expect(run.output()).toContain(`Gateway: http://127.0.0.1:${ports.gateway}`);
    for (const name of services) expect(await isServing(ports[name])).toBe(true);
    const token = /export LAKEHOUSE_TOKEN=(\S+)/.exec(run.output())?.[1] ?? "";
    const catalog = (headers: Record<string, string>) =>
      createClient(
        CatalogService,
        createInternalTransport(`http://127.0.0.1:${ports.gateway}`, { maxMessageBytes: 1 << 20 }),
      ).listDatasets({}, { headers });
    expect((await catalog({ authorization: `Bearer ${token}` })).datasets).toEqual([]);
    const refused = await catalog({}).catch((error: unknown) => ConnectError.from(error));
    expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
    const keys = localKeyFiles(dataDirectory);
    for (const secret of [keys.privateKeyFile, keys.internalSecretFile]) {
      expect(statSync(secret).mode & 0o777).toBe(0o600);
    }

    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    for (const name of services) expect(await isServing(ports[name])).toBe(false);
    expect(stoppedInOrder(run.output())).toEqual([...services].reverse());
  }, 90_000);

  it("keeps every service directory in its data directory, refuses a second start on its data or its ports, and on Ctrl-C stops the services gateway first, storaged last", async () => {
    const { file, folder, ports, dataDirectory } = await systemConfig();
    const run = startLauncher(file, "node", folder);
    await untilRunning(run);
    expect(await isServing(ports.gateway)).toBe(true);
    // The directory defaults (.data/storage, ...) land in the data directory, not the working one.
    for (const leaf of ["storage", "catalog-work", "query-cache", "query-tmp"]) {
      expect(statSync(join(dataDirectory, leaf)).isDirectory()).toBe(true);
    }
    expect(existsSync(join(folder, ".data"))).toBe(false);

    // A second launcher on the same data, or on the same ports, stops before starting anything.
    const sameData = startLauncher(file, "node");
    expect(await sameData.exited).toBe(1);
    expect(sameData.errors()).toContain(`another lakehouse (pid ${run.child.pid}) is running`);
    const config = parse(readFileSync(file, "utf8"));
    config.launcher.dataDirectory = `${config.launcher.dataDirectory}-other`;
    const otherFile = `${file}.other.yaml`;
    writeFileSync(otherFile, stringify(config));
    const samePorts = startLauncher(otherFile, "node");
    expect(await samePorts.exited).toBe(1);
    expect(samePorts.errors()).toContain(`storaged.listen 127.0.0.1:${ports.storaged} is in use`);
    expect(await isServing(ports.gateway)).toBe(true);

    process.kill(-(run.child.pid ?? 0), "SIGINT");
    expect(await run.exited).toBe(0);
    expect(stoppedInOrder(run.output())).toEqual([...services].reverse());
  }, 90_000);

  it("stops every service when the launcher itself is killed", async () => {
    const { file, ports } = await systemConfig();
    const run = startLauncher(file, "node");
    await untilRunning(run);
    expect(await isServing(ports.gateway)).toBe(true);
    run.child.kill("SIGKILL");
    await run.exited;
    const stopBy = Date.now() + 20_000;
    let anyServing = true;
    while (anyServing && Date.now() < stopBy) {
      anyServing = (await Promise.all(services.map((name) => isServing(ports[name])))).some(
        Boolean,
      );
      if (anyServing) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(anyServing).toBe(false);
  }, 90_000);

  it("refuses to start anything when a setting is bad, naming it", async () => {
    const { file, ports } = await systemConfig({ queryd: { poolSize: 0 } });
    const run = startLauncher(file);
    expect(await run.exited).toBe(2);
    expect(run.errors()).toMatch(/queryd\.poolSize \(env LAKEHOUSE_QUERYD_POOL_SIZE\)/);
    expect(await isServing(ports.storaged)).toBe(false);
  }, 60_000);
});
