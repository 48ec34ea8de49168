import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repositoryRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/**
 * V8 flags every service process starts with. A streaming service allocates
 * megabytes of ArrayBuffers per message while its JS heap holds some 20 MB;
 * from V8's default initial heap, the old generation's limit stays so close
 * to that live size that, once a long stream is under way, full collections
 * run every few tens of milliseconds and a 3M-row result streams at a third
 * of its speed (`node --import tsx bench/query-throughput.ts`). Starting the
 * heap at 128 MiB leaves the collector room; resident memory grows by about
 * 30 MiB.
 */
export const SERVICE_V8_FLAGS: readonly string[] = ["--initial-heap-size=128"];

/**
 * The `node` arguments that run service `name`: the V8 flags, TypeScript
 * loading, tracing set up before the service's first module loads, and the
 * service's `main.ts`. The launcher and the tests start services with these;
 * `deploy/Dockerfile` spells the same out in its ENTRYPOINT (a test keeps the
 * two equal).
 */
export function serviceNodeArguments(name: string): string[] {
  return [
    ...SERVICE_V8_FLAGS,
    "--import",
    "tsx",
    "--import",
    pathToFileURL(resolve(repositoryRoot, "services/kit/telemetry/register.ts")).href,
    resolve(repositoryRoot, "services", name, "main.ts"),
  ];
}
