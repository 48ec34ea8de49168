import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { SERVICE_V8_FLAGS } from "../services/kit/service-command.js";

// Runs every benchmark in this folder in turn, each in its own process with
// the services' V8 flags, so what a benchmark measures in-process runs under
// the same heap settings as the services it is compared with. Benchmarks print
// figures and ratios; they never fail on absolute times.
const folder = import.meta.dirname;
const only = process.argv[2];
for (const file of readdirSync(folder).sort()) {
  if (!file.endsWith(".ts") || file === "run.ts") continue;
  if (only && !file.includes(only)) continue;
  process.stdout.write(`\n== ${file}\n`);
  const args = [...SERVICE_V8_FLAGS, "--import", "tsx", resolve(folder, file)];
  const result = spawnSync(process.execPath, args, {
    stdio: "inherit",
  });
  if (result.status !== 0) process.exitCode = 1;
}
