import { describe, expect, it } from "vitest";
import { loadConfig } from "../kit/config.js";
import { dataDirectoryEnvironment } from "./data-directories.js";
import { serviceConfigSchemas } from "./system-config.js";

/** Every service's config as loaded from the given environment and no file. */
function loadedConfigs(env: NodeJS.ProcessEnv = {}): Record<string, object> {
  return Object.fromEntries(
    Object.entries(serviceConfigSchemas).map(([section, schema]) => [
      section,
      loadConfig({ section, schema, env }),
    ]),
  );
}

describe("dataDirectoryEnvironment", () => {
  it("moves every directory left at its default into the data directory, keeping its leaf", () => {
    expect(dataDirectoryEnvironment("/tmp/other", loadedConfigs())).toEqual({
      LAKEHOUSE_STORAGED_LOCAL_ROOT: "/tmp/other/storage",
      LAKEHOUSE_STORAGED_S3_SPOOL_DIRECTORY: "/tmp/other/spool",
      LAKEHOUSE_CATALOGD_WORK_DIRECTORY: "/tmp/other/catalog-work",
      LAKEHOUSE_QUERYD_CACHE_DIRECTORY: "/tmp/other/query-cache",
      LAKEHOUSE_QUERYD_TEMP_DIRECTORY: "/tmp/other/query-tmp",
      LAKEHOUSE_AIBRIDGE_WORK_DIRECTORY: "/tmp/other/aibridge-work",
    });
  });

  it("keeps directories the config sets to anything else", () => {
    const configs = loadedConfigs({
      LAKEHOUSE_STORAGED_LOCAL_ROOT: "/srv/objects",
      LAKEHOUSE_CATALOGD_WORK_DIRECTORY: "scratch/catalog",
      LAKEHOUSE_QUERYD_TEMP_DIRECTORY: ".data/spill",
    });
    expect(dataDirectoryEnvironment("state", configs)).toEqual({
      LAKEHOUSE_STORAGED_S3_SPOOL_DIRECTORY: "state/spool",
      LAKEHOUSE_QUERYD_CACHE_DIRECTORY: "state/query-cache",
      LAKEHOUSE_AIBRIDGE_WORK_DIRECTORY: "state/aibridge-work",
    });
  });

  it("gives the default data directory the very paths the services default to", () => {
    const configs = loadedConfigs();
    const environment = dataDirectoryEnvironment(".data", configs);
    expect(Object.keys(environment)).toHaveLength(6);
    const reloaded = loadedConfigs(environment);
    expect(reloaded).toEqual(configs);
  });
});
