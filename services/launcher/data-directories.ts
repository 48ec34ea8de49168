import { isAbsolute, join, relative } from "node:path";
import { configEnvironmentNames } from "../kit/config.js";
import { launcherConfigSchema } from "./launcher-config.js";
import { serviceConfigSchemas } from "./system-config.js";

/** The launcher's default data directory (`.data`), under which the services' directory defaults lie. */
const DEFAULT_DATA_DIRECTORY = launcherConfigSchema.parse({}).dataDirectory;

/**
 * Environment overrides that move every service directory still at its
 * default (`storaged.local.root` = `.data/storage`, `catalogd.workDirectory`,
 * `queryd.cacheDirectory`, ...) into the launcher's data directory, keeping
 * its leaf: `<dataDirectory>/storage`. Under `npm start` one data directory
 * is one installation, so two launchers given different ones share no
 * catalog, no objects and no scratch (which catalogd empties at start). The
 * settings are found by their schema default lying under `.data`, so a new
 * directory setting follows without being listed; a value set to anything
 * else is left alone.
 *
 * @param configs Each service's loaded config, by section name.
 */
export function dataDirectoryEnvironment(
  dataDirectory: string,
  configs: Readonly<Record<string, object>>,
): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [section, schema] of Object.entries(serviceConfigSchemas)) {
    const config = configs[section];
    if (config === undefined) continue;
    const defaults: object = schema.parse({});
    for (const [setting, variable] of configEnvironmentNames(section, schema)) {
      const path = setting.split(".").slice(1);
      const fallback = valueAt(defaults, path);
      if (typeof fallback !== "string" || valueAt(config, path) !== fallback) continue;
      const leaf = relative(DEFAULT_DATA_DIRECTORY, fallback);
      if (leaf === "" || leaf.startsWith("..") || isAbsolute(leaf)) continue;
      environment[variable] = join(dataDirectory, leaf);
    }
  }
  return environment;
}

function valueAt(config: object, path: readonly string[]): unknown {
  let node: unknown = config;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
