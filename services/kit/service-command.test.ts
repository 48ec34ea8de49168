import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SERVICE_V8_FLAGS, serviceNodeArguments } from "./service-command.js";

const dockerfile = resolve(import.meta.dirname, "../../deploy/Dockerfile");

describe("serviceNodeArguments", () => {
  it("runs the service's main.ts after the V8 flags, tsx and the tracing register", () => {
    const args = serviceNodeArguments("queryd");
    expect(args.slice(0, SERVICE_V8_FLAGS.length)).toEqual([...SERVICE_V8_FLAGS]);
    expect(args.at(-1)).toMatch(/services\/queryd\/main\.ts$/);
    expect(existsSync(args.at(-1) ?? "")).toBe(true);
    expect(existsSync(fileURLToPath(args.at(-2) ?? ""))).toBe(true);
    expect(args.slice(SERVICE_V8_FLAGS.length, -2)).toEqual(["--import", "tsx", "--import"]);
  });

  it("matches the container image's ENTRYPOINT, flag for flag", () => {
    const line = readFileSync(dockerfile, "utf8")
      .split("\n")
      .find((text) => text.startsWith("ENTRYPOINT "));
    const entrypoint = JSON.parse(line?.slice("ENTRYPOINT ".length) ?? "[]") as string[];
    expect(entrypoint).toEqual([
      "node",
      ...SERVICE_V8_FLAGS,
      "--import",
      "tsx",
      "--import",
      "./services/kit/telemetry/register.ts",
    ]);
  });
});
