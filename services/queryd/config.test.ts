import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../kit/config.js";
import { querydConfigSchema } from "./config.js";

const load = (env: NodeJS.ProcessEnv) =>
  loadConfig({ section: "queryd", schema: querydConfigSchema, env });

describe("queryd config", () => {
  it("has defaults for a laptop: loopback port 7103, local peers, bounded DuckDB", () => {
    expect(load({})).toMatchObject({
      listen: "127.0.0.1:7103",
      catalogUrl: "http://127.0.0.1:7102",
      storageUrl: "http://127.0.0.1:7101",
      cacheDirectory: ".data/query-cache",
      tempDirectory: ".data/query-tmp",
      memoryLimit: "2GB",
      threads: 2,
    });
  });

  it("takes overrides from LAKEHOUSE_QUERYD_* variables", () => {
    const config = load({ LAKEHOUSE_QUERYD_MEMORY_LIMIT: "4GB", LAKEHOUSE_QUERYD_POOL_SIZE: "8" });
    expect(config.memoryLimit).toBe("4GB");
    expect(config.poolSize).toBe(8);
  });

  it("rejects a memory limit DuckDB would not understand, naming the key", () => {
    expect(() => load({ LAKEHOUSE_QUERYD_MEMORY_LIMIT: "lots" })).toThrow(ConfigError);
    expect(() => load({ LAKEHOUSE_QUERYD_MEMORY_LIMIT: "lots" })).toThrow(/queryd\.memoryLimit/);
  });
});
