import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../kit/config.js";
import { launcherConfigSchema } from "./launcher-config.js";
import { serviceConfigSchemas } from "./system-config.js";

const documented = parse(
  readFileSync(resolve(import.meta.dirname, "../../lakehouse.yaml"), "utf8"),
) as Record<string, unknown>;

describe("lakehouse.yaml", () => {
  it("has the launcher's section and one for every service, and nothing else", () => {
    expect(Object.keys(documented)).toEqual(["launcher", ...Object.keys(serviceConfigSchemas)]);
  });

  it("shows every launcher setting with its default", () => {
    const defaults = loadConfig({ section: "launcher", schema: launcherConfigSchema, env: {} });
    expect(documented.launcher).toEqual(defaults);
  });

  it.each(Object.entries(serviceConfigSchemas))(
    "shows every %s setting with its default",
    (name, schema) => {
      const defaults = loadConfig({ section: name, schema, env: {} });
      expect(documented[name]).toEqual(defaults);
    },
  );
});
