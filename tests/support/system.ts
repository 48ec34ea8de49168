import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allScopes } from "../../services/gateway/auth/scope-table.js";
import { ensureLocalKeys, mintLocalToken } from "../../services/kit/identity/local-keys.js";
import { registerGatewayToken } from "./gateway-clients.js";
import { type ServiceProcess, startServiceProcess } from "./service-process.js";

/** The five services running as separate processes, wired to each other. */
export interface RunningSystem {
  readonly storaged: ServiceProcess;
  readonly catalogd: ServiceProcess;
  readonly queryd: ServiceProcess;
  readonly aibridge: ServiceProcess;
  readonly gateway: ServiceProcess;
  /** The folder holding every service's data (and, under keys/, the credentials). */
  readonly dataDirectory: string;
  /**
   * A token with every scope and every dataset, signed with the system's
   * local key; `gatewayClients` and `bufCurl` send it to this gateway.
   */
  readonly adminToken: string;
  /** Mints another token for this gateway: `scopes` and dataset grants as given. */
  token(options: { scopes: string[]; datasets: string[]; subject?: string }): Promise<string>;
  /** SIGTERM to every service; resolves with their exit codes by name. */
  stop(): Promise<Record<string, number | null>>;
}

/**
 * Starts storaged, catalogd, queryd, aibridge and the gateway on free ports
 * with their data in a new temp folder, the way the launcher does on fixed
 * ports: a local signing key and internal secret are created there and every
 * service is configured with them. `extraEnv` adds settings per service name.
 */
export async function startSystem(
  extraEnv: Partial<Record<string, Record<string, string>>> = {},
): Promise<RunningSystem> {
  const dataDirectory = mkdtempSync(join(tmpdir(), "lakehouse-system-"));
  const keys = await ensureLocalKeys(dataDirectory);
  const base = { LAKEHOUSE_CONFIG: "" };
  const started: ServiceProcess[] = [];
  const start = async (name: string, env: Record<string, string>) => {
    const secret = {
      [`LAKEHOUSE_${name.toUpperCase()}_INTERNAL_AUTH_SECRET_FILE`]: keys.internalSecretFile,
    };
    const service = await startServiceProcess(name, {
      ...base,
      ...secret,
      ...env,
      ...extraEnv[name],
    });
    started.push(service);
    return service;
  };
  try {
    const storaged = await start("storaged", {
      LAKEHOUSE_STORAGED_LOCAL_ROOT: join(dataDirectory, "storage"),
    });
    const catalogd = await start("catalogd", {
      LAKEHOUSE_CATALOGD_STORAGE_URL: storaged.url.origin,
      LAKEHOUSE_CATALOGD_WORK_DIRECTORY: join(dataDirectory, "catalog-work"),
    });
    const queryd = await start("queryd", {
      LAKEHOUSE_QUERYD_CATALOG_URL: catalogd.url.origin,
      LAKEHOUSE_QUERYD_STORAGE_URL: storaged.url.origin,
      LAKEHOUSE_QUERYD_CACHE_DIRECTORY: join(dataDirectory, "query-cache"),
      LAKEHOUSE_QUERYD_TEMP_DIRECTORY: join(dataDirectory, "query-tmp"),
    });
    // aibridge reads and writes datasets (search indexes) through the three data services.
    const aibridge = await start("aibridge", {
      LAKEHOUSE_AIBRIDGE_CATALOG_URL: catalogd.url.origin,
      LAKEHOUSE_AIBRIDGE_STORAGE_URL: storaged.url.origin,
      LAKEHOUSE_AIBRIDGE_QUERY_URL: queryd.url.origin,
      LAKEHOUSE_AIBRIDGE_WORK_DIRECTORY: join(dataDirectory, "aibridge-work"),
    });
    const gateway = await start("gateway", {
      LAKEHOUSE_GATEWAY_STORAGE_URL: storaged.url.origin,
      LAKEHOUSE_GATEWAY_CATALOG_URL: catalogd.url.origin,
      LAKEHOUSE_GATEWAY_QUERY_URL: queryd.url.origin,
      LAKEHOUSE_GATEWAY_AI_URL: aibridge.url.origin,
      LAKEHOUSE_GATEWAY_AUTH_PUBLIC_KEY_FILE: keys.publicKeyFile,
    });
    const token = (options: { scopes: string[]; datasets: string[]; subject?: string }) =>
      mintLocalToken(keys.privateKeyFile, {
        subject: options.subject ?? "tester",
        scopes: options.scopes,
        datasets: options.datasets,
        issuer: "lakehouse-local",
        audience: "lakehouse",
        ttlSeconds: 3600,
      });
    const adminToken = await token({ scopes: [...allScopes], datasets: ["*"], subject: "admin" });
    registerGatewayToken(gateway.url, adminToken);
    return {
      storaged,
      catalogd,
      queryd,
      aibridge,
      gateway,
      dataDirectory,
      adminToken,
      token,
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
