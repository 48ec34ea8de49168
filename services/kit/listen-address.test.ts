import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, loadConfig } from "./config.js";
import { serverSettings } from "./server.js";
import { serviceNodeArguments } from "./service-command.js";

const run = promisify(execFile);
const schema = z.object(serverSettings("127.0.0.1:7103"));
const load = (listen: string) =>
  loadConfig({ section: "queryd", schema, env: { LAKEHOUSE_QUERYD_LISTEN: listen } });

describe("the listen setting", () => {
  it("refuses a port above 65535, naming the key and its variable", () => {
    expect(() => load("127.0.0.1:99999")).toThrow(ConfigError);
    expect(() => load("127.0.0.1:65536")).toThrow(
      /queryd\.listen \(env LAKEHOUSE_QUERYD_LISTEN\): expected a port from 0 to 65535/,
    );
  });

  it("stops a service process before it starts, with exit code 2 and the setting named", async () => {
    const outcome = await run(process.execPath, serviceNodeArguments("queryd"), {
      env: { PATH: process.env.PATH, LAKEHOUSE_QUERYD_LISTEN: "127.0.0.1:99999" },
      timeout: 15_000,
    }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain(
      "queryd.listen (env LAKEHOUSE_QUERYD_LISTEN): expected a port from 0 to 65535",
    );
    expect(outcome.stderr).not.toContain("options.port");
  }, 20_000);
});
