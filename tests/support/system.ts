import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ServiceProcess, startServiceProcess } from "./service-process.js";

/** The five services running as separate processes, wired to each other. */
export interface RunningSystem {
  readonly storaged: ServiceProcess;
  readonly catalogd: ServiceProcess;
  readonly queryd: ServiceProcess;
  readonly aibridge: ServiceProcess;
  readonly gateway: ServiceProcess;
  /** The folder holding every service's data. */
  readonly dataDirectory: string;
  /** SIGTERM to every service; resolves with their exit codes by name. */
  stop(): Promise<Record<string, number | null>>;
}

/**
 * Starts storaged, catalogd, queryd, aibridge and the gateway on free ports
 * with their data in a new temp folder, the way the launcher does on fixed
 * ports. `extraEnv` adds settings per service name.
 */
export async function startSystem(
  extraEnv: Partial<Record<string, Record<string, string>>> = {},
): Promise<RunningSystem> {
  const dataDirectory = mkdtempSync(join(tmpdir(), "lakehouse-system-"));
  const base = { LAKEHOUSE_CONFIG: "" };
  const started: ServiceProcess[] = [];
  const start = async (name: string, env: Record<string, string>) => {
    const service = await startServiceProcess(name, { ...base, ...env, ...extraEnv[name] });
    started.push(service);
    return service;
  };
  try {
    const storaged = await start("storaged", {
      LAKEHOUSE_STORAGED_LOCAL_ROOT: join(dataDirectory, "storage"),
    });
    const [catalogd, aibridge] = await Promise.all([
      start("catalogd", {
        LAKEHOUSE_CATALOGD_STORAGE_URL: storaged.url.origin,
        LAKEHOUSE_CATALOGD_WORK_DIRECTORY: join(dataDirectory, "catalog-work"),
      }),
      start("aibridge", {}),
    ]);
    const queryd = await start("queryd", {
      LAKEHOUSE_QUERYD_CATALOG_URL: catalogd.url.origin,
      LAKEHOUSE_QUERYD_STORAGE_URL: storaged.url.origin,
      LAKEHOUSE_QUERYD_CACHE_DIRECTORY: join(dataDirectory, "query-cache"),
      LAKEHOUSE_QUERYD_TEMP_DIRECTORY: join(dataDirectory, "query-tmp"),
    });
    const gateway = await start("gateway", {
      LAKEHOUSE_GATEWAY_STORAGE_URL: storaged.url.origin,
      LAKEHOUSE_GATEWAY_CATALOG_URL: catalogd.url.origin,
      LAKEHOUSE_GATEWAY_QUERY_URL: queryd.url.origin,
      LAKEHOUSE_GATEWAY_AI_URL: aibridge.url.origin,
    });
    return {
      storaged,
      catalogd,
      queryd,
      aibridge,
      gateway,
      dataDirectory,
      async stop() {
        const names = ["gateway", "queryd", "aibridge", "catalogd", "storaged"] as const;
        const services = { storaged, catalogd, queryd, aibridge, gateway };
        const codes = await Promise.all(names.map((name) => services[name].stop()));
        rmSync(dataDirectory, { recursive: true, force: true });
        return Object.fromEntries(names.map((name, i) => [name, codes[i] ?? null]));
      },
    };
  } catch (error) {
    await Promise.all(started.map((service) => service.kill()));
    throw error;
  }
}
