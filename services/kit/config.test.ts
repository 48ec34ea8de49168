import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, configEnvironmentNames, loadConfig } from "./config.js";

const schema = z.object({
  listen: z.string().default("127.0.0.1:1"),
  maxBytes: z.number().int().min(1).default(10),
  verbose: z.boolean().default(false),
  s3: z
    .object({ bucket: z.string().default(""), forcePathStyle: z.boolean().default(false) })
    .prefault({}),
});

function configFile(text: string, name = "lakehouse.yaml"): string {
  const file = join(mkdtempSync(join(tmpdir(), "config-")), name);
  writeFileSync(file, text);
  return file;
}

describe("loadConfig", () => {
  it("fills every default when there is no file and no environment", () => {
    expect(loadConfig({ section: "svc", schema, env: {} })).toEqual({
      listen: "127.0.0.1:1",
      maxBytes: 10,
      verbose: false,
      s3: { bucket: "", forcePathStyle: false },
    });
  });

  it("reads its own section of a YAML file and ignores other sections", () => {
    const file = configFile("svc:\n  maxBytes: 99\n  s3:\n    bucket: b1\nother:\n  maxBytes: 1\n");
    const config = loadConfig({ section: "svc", schema, file, env: {} });
    expect(config.maxBytes).toBe(99);
    expect(config.s3).toEqual({ bucket: "b1", forcePathStyle: false });
  });

  it("reads JSON files too", () => {
    const file = configFile(JSON.stringify({ svc: { verbose: true } }), "c.json");
    expect(loadConfig({ section: "svc", schema, file, env: {} }).verbose).toBe(true);
  });

  it("lets environment variables override the file, converting by the setting's type", () => {
    const file = configFile("svc:\n  maxBytes: 99\n");
    const config = loadConfig({
      section: "svc",
      schema,
      file,
      env: { LAKEHOUSE_SVC_MAX_BYTES: "5", LAKEHOUSE_SVC_S3_FORCE_PATH_STYLE: "true" },
    });
    expect(config.maxBytes).toBe(5);
    expect(config.s3.forcePathStyle).toBe(true);
  });

  it("takes the file from LAKEHOUSE_CONFIG", () => {
    const file = configFile("svc:\n  listen: 0.0.0.0:9\n");
    expect(loadConfig({ section: "svc", schema, env: { LAKEHOUSE_CONFIG: file } }).listen).toBe(
      "0.0.0.0:9",
    );
  });

  it("names the key, its variable and what is allowed when a value is bad", () => {
    const load = () =>
      loadConfig({ section: "svc", schema, env: { LAKEHOUSE_SVC_MAX_BYTES: "lots" } });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/svc\.maxBytes \(env LAKEHOUSE_SVC_MAX_BYTES\): .*number/);
  });

  it("rejects a file that is not a mapping or cannot be read", () => {
    expect(() =>
      loadConfig({ section: "svc", schema, file: configFile("- 1\n"), env: {} }),
    ).toThrow(/must hold a mapping/);
    expect(() =>
      loadConfig({ section: "svc", schema, file: "/nonexistent/x.yaml", env: {} }),
    ).toThrow(/cannot read config file/);
  });

  it("lists the environment variable of every setting", () => {
    expect(configEnvironmentNames("svc", schema)).toContainEqual([
      "svc.s3.forcePathStyle",
      "LAKEHOUSE_SVC_S3_FORCE_PATH_STYLE",
    ]);
  });
});
