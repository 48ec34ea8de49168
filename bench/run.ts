import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { resolve } from "node:path";

// Runs every benchmark in this folder in turn. Benchmarks print figures and
// ratios; they never fail on absolute times.
const folder = import.meta.dirname;
const only = process.argv[2];
for (const file of readdirSync(folder).sort()) {
  if (!file.endsWith(".ts") || file === "run.ts") continue;
  if (only && !file.includes(only)) continue;
  process.stdout.write(`\n== ${file}\n`);
  const result = spawnSync(process.execPath, ["--import", "tsx", resolve(folder, file)], {
    stdio: "inherit",
  });
  if (result.status !== 0) process.exitCode = 1;
}
