import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { authSettings } from "../gateway/auth/auth-settings.js";
import { createFileKeySource } from "../gateway/auth/key-source.js";
import { createTokenVerifier } from "../gateway/auth/token-verifier.js";
import { ensureLocalKeys } from "../kit/identity/local-keys.js";
import { runCli } from "./cli-program.js";
import { testContext } from "./testing/test-context.js";

/** A config file whose launcher keeps its keys in a new temp folder. */
async function localSetup(gateway: Record<string, unknown> = {}) {
  const folder = mkdtempSync(join(tmpdir(), "cli-token-"));
  const file = join(folder, "lakehouse.yaml");
  writeFileSync(file, stringify({ launcher: { dataDirectory: join(folder, "data") }, gateway }));
  const keys = await ensureLocalKeys(join(folder, "data"));
  return { env: { LAKEHOUSE_CONFIG: file }, keys };
}

describe("lakehouse token", () => {
  it("prints a token the gateway, configured as npm start configures it, accepts with the asked scopes and grants", async () => {
    const { env, keys } = await localSetup({ auth: { audience: "my-lakehouse" } });
    const context = testContext(env);
    const code = await runCli(
      [
        "token",
        "--scope",
        "query",
        "--scope",
        "catalog.read",
        "--grant",
        "sales_*",
        "--ttl",
        "2h",
        "--subject",
        "ana",
      ],
      context,
    );
    expect(context.stderr.text()).toBe("");
    expect(code).toBe(0);
    const token = context.stdout.text().trim();
    const auth = authSettings().auth.parse({ audience: "my-lakehouse" });
    const verifier = createTokenVerifier(auth, createFileKeySource(keys.publicKeyFile));
    expect(await verifier.verify(token)).toEqual({
      subject: "ana",
      scopes: ["query", "catalog.read"],
      datasets: ["sales_*"],
    });
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
    expect(payload.exp - payload.iat).toBe(7200);
  });

  it("defaults to read and query scopes on every dataset for an hour", async () => {
    const { env } = await localSetup();
    const context = testContext(env);
    expect(await runCli(["token", "--json"], context)).toBe(0);
    const printed = JSON.parse(context.stdout.text());
    expect(printed).toMatchObject({ scopes: ["catalog.read", "query"], datasets: ["*"] });
    const payload = JSON.parse(Buffer.from(printed.token.split(".")[1], "base64url").toString());
    expect(payload.exp - payload.iat).toBe(3600);
  });

  it("refuses unknown scopes, malformed grants and odd lifetimes as usage errors", async () => {
    const { env } = await localSetup();
    for (const args of [
      ["token", "--scope", "everything"],
      ["token", "--grant", "sales-*"],
      ["token", "--ttl", "5"],
      ["token", "--ttl", "90d"],
    ]) {
      const context = testContext(env);
      expect(await runCli(args, context)).toBe(2);
      expect(context.stdout.text()).toBe("");
    }
  });

  it("says which key file is missing", async () => {
    const { env } = await localSetup();
    const context = testContext(env);
    expect(await runCli(["token", "--key", "/nonexistent/key.jwk"], context)).toBe(1);
    expect(context.stderr.text()).toBe(
      'error: not_found: file "/nonexistent/key.jwk" does not exist\n',
    );
  });
});
