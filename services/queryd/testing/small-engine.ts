import { join } from "node:path";
import {
  createDuckDBEngine,
  type DuckDBEngine,
  type DuckDBEngineOptions,
} from "../duckdb-engine.js";

/**
 * queryd's locked-down engine at test size (one thread, one connection, 256 MB),
 * its cache in `<root>/cache` and its spill directory in `<root>/spill`.
 */
export function createSmallEngine(
  root: string,
  options: Partial<DuckDBEngineOptions> = {},
): Promise<DuckDBEngine> {
  return createDuckDBEngine({
    cacheDirectory: join(root, "cache"),
    tempDirectory: join(root, "spill"),
    memoryLimit: "256MB",
    threads: 1,
    maxTempDirectorySize: "64MB",
    poolSize: 1,
    maxQueued: 0,
    ...options,
  });
}
