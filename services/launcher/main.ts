import { ConfigError, loadConfig } from "../kit/config.js";
import type { InternalAuthSettings } from "../kit/identity/internal-auth.js";
import { dataDirectoryEnvironment } from "./data-directories.js";
import { lockDataDirectory } from "./data-directory-lock.js";
import { assertListenAddressesFree, configFile, localUrl, startSystem } from "./launcher.js";
import { launcherConfigSchema } from "./launcher-config.js";
import { prepareLocalCredentials } from "./local-credentials.js";
import { peerUrlEnvironment } from "./peer-urls.js";
import { serviceConfigSchemas } from "./system-config.js";

const file = configFile(process.env);
const env = { ...process.env, ...(file ? { LAKEHOUSE_CONFIG: file } : {}) };

type LoadedService = { listen: string; internalAuth: InternalAuthSettings };
let services: { name: string; listen: string }[];
const configs: Record<string, LoadedService> = {};
let launcher: ReturnType<typeof launcherConfigSchema.parse>;
try {
  // Validating every section first means a bad setting stops everything
  // before any process starts, with the key named.
  launcher = loadConfig({ section: "launcher", schema: launcherConfigSchema, file, env });
  services = Object.entries(serviceConfigSchemas).map(([name, schema]) => {
    const config = loadConfig({ section: name, schema, file, env }) as LoadedService;
    configs[name] = config;
    if (config.listen.endsWith(":0"))
      throw new ConfigError(`${name}.listen: the launcher needs a fixed port`);
    return { name, listen: config.listen };
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`lakehouse: ${error.message}\n`);
  process.exit(2);
}

try {
  await lockDataDirectory(launcher.dataDirectory);
  await assertListenAddressesFree(services);
} catch (error) {
  process.stderr.write(`lakehouse: ${(error as Error).message}\n`);
  process.exit(1);
}

const credentials = await prepareLocalCredentials({
  dataDirectory: launcher.dataDirectory,
  configs,
  adminTokenTtlSeconds: launcher.adminTokenTtlSeconds,
}).catch((error: Error) => {
  process.stderr.write(
    `lakehouse: cannot prepare keys in ${launcher.dataDirectory}: ${error.message}\n`,
  );
  process.exit(1);
});
if (credentials.files.created) {
  process.stdout.write(
    `Created a local signing key and internal secret in ${launcher.dataDirectory}/keys\n`,
  );
}
process.stdout.write(`Starting ${services.length} services${file ? ` with ${file}` : ""}...\n`);
const system = await startSystem({
  services,
  env: {
    ...env,
    ...credentials.env,
    ...peerUrlEnvironment(services),
    ...dataDirectoryEnvironment(launcher.dataDirectory, configs),
  },
  onOutput: (line) => process.stdout.write(`${line}\n`),
  startTimeoutMs: 60_000,
  stopTimeoutMs: 20_000,
}).catch((error: Error) => {
  process.stderr.write(`lakehouse: ${error.message}\n`);
  process.exit(1);
});

const gateway = services.find((service) => service.name === "gateway");
process.stdout.write(
  [
    "",
    `Lakehouse is running. Gateway: ${gateway ? localUrl(gateway.listen) : "?"}`,
    `  gRPC:    grpcurl -plaintext ${gateway?.listen} list`,
    `  CLI:     npx lakehouse datasets`,
    ...(credentials.adminToken
      ? [
          "",
          `Admin token (every scope, every dataset; expires in ${launcher.adminTokenTtlSeconds} s):`,
          `  export LAKEHOUSE_TOKEN=${credentials.adminToken}`,
          `  grpcurl -plaintext -H "authorization: Bearer $LAKEHOUSE_TOKEN" ${gateway?.listen} ...`,
          "  More tokens: npx lakehouse token --scope query --grant 'sales_*' --ttl 8h",
        ]
      : []),
    "  Stop with Ctrl-C.",
    "",
  ].join("\n"),
);

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write("Stopping...\n");
  await system.stop();
  process.exit(code);
};
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
system.exited.then(({ name, code }) => {
  process.stderr.write(
    `lakehouse: ${name} exited unexpectedly (code ${code}); stopping the rest\n`,
  );
  void stop(1);
});
