import { ConfigError, loadConfig } from "../kit/config.js";
import { configFile, localUrl, startSystem } from "./launcher.js";
import { serviceConfigSchemas } from "./system-config.js";

const file = configFile(process.env);
const env = { ...process.env, ...(file ? { LAKEHOUSE_CONFIG: file } : {}) };

let services: { name: string; listen: string }[];
try {
  // Validating every section first means a bad setting stops everything
  // before any process starts, with the key named.
  services = Object.entries(serviceConfigSchemas).map(([name, schema]) => {
    const { listen } = loadConfig({ section: name, schema, file, env }) as { listen: string };
    if (listen.endsWith(":0"))
      throw new ConfigError(`${name}.listen: the launcher needs a fixed port`);
    return { name, listen };
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`lakehouse: ${error.message}\n`);
  process.exit(2);
}

process.stdout.write(`Starting ${services.length} services${file ? ` with ${file}` : ""}...\n`);
const system = await startSystem({
  services,
  env,
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
