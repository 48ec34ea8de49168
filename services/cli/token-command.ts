import { userInfo } from "node:os";
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { allScopes } from "../gateway/auth/scope-table.js";
import { gatewayConfigSchema } from "../gateway/config.js";
import { ConfigError, loadConfig } from "../kit/config.js";
import { isGrantPattern } from "../kit/identity/dataset-grants.js";
import { localKeyFiles, mintLocalToken } from "../kit/identity/local-keys.js";
import { configFile } from "../launcher/launcher.js";
import { launcherConfigSchema } from "../launcher/launcher-config.js";
import type { CliContext } from "./cli-context.js";
import { LocalError } from "./cli-errors.js";
import { localFileError } from "./local-file-errors.js";
import { examples, writeJson } from "./rendering.js";

/** Scopes of a token when no `--scope` is given: reading and querying, nothing that changes data. */
const defaultScopes = ["catalog.read", "query"];

/** The longest lifetime `--ttl` accepts: local tokens are for people, not for services. */
const maxTtlSeconds = 30 * 24 * 3600;

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A lifetime such as `90s`, `30m`, `8h` or `7d`, returned in seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (unitSeconds[match[2] ?? "s"] ?? 1) : Number.NaN;
  if (!(seconds >= 60 && seconds <= maxTtlSeconds)) {
    throw new InvalidArgumentError("expected a duration from 60s to 30d, e.g. 30m, 8h or 7d");
  }
  return seconds;
}

function collectScope(value: string, previous: string[] | undefined): string[] {
  if (!(allScopes as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${allScopes.join(", ")}`);
  }
  return [...(previous ?? []), value];
}

function collectGrant(value: string, previous: string[] | undefined): string[] {
  if (!isGrantPattern(value)) {
    throw new InvalidArgumentError("expected a dataset name or pattern such as sales_* or *");
  }
  return [...(previous ?? []), value];
}

/**
 * `lakehouse token`: prints a token signed with the local key `npm start`
 * created, for the gateway `npm start` runs. Issuer, audience and claim names
 * come from the `gateway` section of the config file, the key from the
 * `launcher` section's data directory (or `--key`). No call is made.
 */
export function registerTokenCommand(program: Command, context: CliContext): void {
  program
    .command("token")
    .description("print a token signed with the local key of npm start, for local use")
    .addOption(
      new Option(
        "--scope <scope>",
        `a scope, repeatable (default: ${defaultScopes.join(" ")})`,
      ).argParser(collectScope),
    )
    .addOption(
      new Option(
        "--grant <pattern>",
        "a dataset grant such as sales_*, repeatable (default: *)",
      ).argParser(collectGrant),
    )
    .addOption(
      new Option("--ttl <duration>", "lifetime, e.g. 30m, 8h, 7d (default: 1h)").argParser(
        parseDuration,
      ),
    )
    .option("--subject <name>", "who the token names (default: your user name)")
    .option(
      "--key <file>",
      "the private key (default: <launcher.dataDirectory>/keys/signing-key.jwk)",
    )
    .addHelpText(
      "after",
      examples([
        "export LAKEHOUSE_TOKEN=$(lakehouse token)",
        "lakehouse token --scope query --scope catalog.read --grant 'sales_*' --ttl 8h",
        `lakehouse token --scope ${allScopes.join(" --scope ")}`,
      ]),
    )
    .action(
      async (
        options: {
          scope?: string[];
          grant?: string[];
          ttl?: number;
          subject?: string;
          key?: string;
        },
        command: Command,
      ) => {
        const { gateway, keyFile } = localTokenSettings(context.env, options.key);
        const scopes = options.scope ?? defaultScopes;
        const datasets = options.grant ?? ["*"];
        const ttlSeconds = options.ttl ?? 3600;
        const subject = options.subject ?? userInfo().username;
        let token: string;
        try {
          token = await mintLocalToken(keyFile, {
            subject,
            scopes,
            datasets,
            ttlSeconds,
            issuer: gateway.auth.issuer,
            audience: gateway.auth.audience,
            scopesClaim: gateway.auth.scopesClaim,
            datasetsClaim: gateway.auth.datasetsClaim,
          });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code) throw localFileError(error, keyFile);
          throw new LocalError(
            "invalid_argument",
            `"${keyFile}" is not a private signing key (JWK)`,
          );
        }
        if (context.globals(command).json) {
          const expiresAt = new Date(Date.now() + ttlSeconds * 1000).toISOString();
          await writeJson(context.stdout, { token, subject, scopes, datasets, expiresAt });
        } else {
          await context.stdout.write(`${token}\n`);
        }
      },
    );
}

/** The gateway's token settings and the key file, from the config file `npm start` reads. */
function localTokenSettings(env: NodeJS.ProcessEnv, key: string | undefined) {
  const file = configFile(env);
  try {
    const gateway = loadConfig({ section: "gateway", schema: gatewayConfigSchema, file, env });
    if (key !== undefined) return { gateway, keyFile: key };
    const launcher = loadConfig({ section: "launcher", schema: launcherConfigSchema, file, env });
    return {
      gateway,
      keyFile: localKeyFiles(resolve(launcher.dataDirectory)).privateKeyFile,
    };
  } catch (error) {
    if (error instanceof ConfigError) throw new LocalError("invalid_argument", error.message);
    throw error;
  }
}
