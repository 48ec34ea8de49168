import { resolve } from "node:path";
import { allScopes } from "../gateway/auth/scope-table.js";
import type { GatewayConfig } from "../gateway/config.js";
import { configEnvironmentNames } from "../kit/config.js";
import type { InternalAuthSettings } from "../kit/identity/internal-auth.js";
import { ensureLocalKeys, type LocalKeyFiles, mintLocalToken } from "../kit/identity/local-keys.js";
import { serviceConfigSchemas } from "./system-config.js";

/** What the launcher hands the services so the embedded system is secure from its first start. */
export interface LocalCredentials {
  /** Environment overrides for the children: only settings the config left empty. */
  readonly env: Record<string, string>;
  readonly files: LocalKeyFiles & { created: boolean };
  /** An admin token for the gateway, when the gateway trusts the local key. */
  readonly adminToken: string | undefined;
}

/**
 * Creates (first run) or reuses the local signing key pair and internal
 * secret in the data directory, points every service whose config names no
 * secret at it and the gateway, when it has no key source, at the public
 * key, and mints a short-lived admin token (every scope, every dataset).
 * Settings a config sets explicitly are left alone, so a production key
 * source is never replaced by the local one.
 */
export async function prepareLocalCredentials(options: {
  dataDirectory: string;
  /** Each service's loaded config, by section name. */
  configs: Record<string, { internalAuth: InternalAuthSettings }>;
  adminTokenTtlSeconds: number;
}): Promise<LocalCredentials> {
  const files = await ensureLocalKeys(resolve(options.dataDirectory));
  const env: Record<string, string> = {};
  for (const [name, config] of Object.entries(options.configs)) {
    if (config.internalAuth.secretFile === "") {
      env[variableOf(name, `${name}.internalAuth.secretFile`)] = files.internalSecretFile;
    }
  }
  const gateway = options.configs.gateway as GatewayConfig | undefined;
  let adminToken: string | undefined;
  if (gateway !== undefined) {
    const { jwksUrl, publicKeyFile } = gateway.auth;
    if (jwksUrl === "" && publicKeyFile === "") {
      env[variableOf("gateway", "gateway.auth.publicKeyFile")] = files.publicKeyFile;
    }
    if (
      jwksUrl === "" &&
      (publicKeyFile === "" || resolve(publicKeyFile) === files.publicKeyFile)
    ) {
      adminToken = await mintLocalToken(files.privateKeyFile, {
        subject: "admin",
        scopes: [...allScopes],
        datasets: ["*"],
        issuer: gateway.auth.issuer,
        audience: gateway.auth.audience,
        scopesClaim: gateway.auth.scopesClaim,
        datasetsClaim: gateway.auth.datasetsClaim,
        ttlSeconds: options.adminTokenTtlSeconds,
      });
    }
  }
  return { env, files, adminToken };
}

/** The environment variable of a setting, as the kit's config loader names it. */
function variableOf(section: string, setting: string): string {
  const schema = serviceConfigSchemas[section as keyof typeof serviceConfigSchemas];
  const found = configEnvironmentNames(section, schema).find(([path]) => path === setting);
  if (found === undefined) throw new Error(`no setting ${setting}`);
  return found[1];
}
