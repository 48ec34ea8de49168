import { readFileSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { z } from "zod";
import { ConfigError } from "../kit/config.js";
import { serviceError } from "../kit/errors.js";
import { BUILTIN_PROVIDER, createBuiltinProvider } from "./builtin-provider.js";
import { type AibridgeConfig, type ProviderConfig, providerConfigSchema } from "./config.js";
import { createOllamaProvider } from "./ollama-provider.js";
import { createOpenAiProvider } from "./openai-provider.js";
import type { Capability, ModelProvider } from "./provider.js";

/** A provider and the model a request goes to. */
export interface ResolvedModel {
  readonly provider: ModelProvider;
  readonly model: string;
}

/** The configured providers by name, with `builtin` always among them. */
export interface ProviderRegistry {
  /** Every provider, `builtin` first. */
  all(): ModelProvider[];
  /**
   * The provider a request names ("" = the configured default).
   *
   * @throws NOT_FOUND (PROVIDER_NOT_FOUND) for a name not configured.
   */
  provider(name: string): ModelProvider;
  /**
   * The provider and model for a capability: the request's model, else the
   * provider's configured default.
   *
   * @throws NOT_FOUND for an unknown provider; FAILED_PRECONDITION when no
   *   model is named and the provider has no default for the capability.
   */
  resolve(provider: string, model: string, capability: Capability): ResolvedModel;
}

/**
 * Builds every provider from config. API keys are read once here (from a
 * file, or an environment variable) and never logged.
 *
 * @throws ConfigError for a duplicate name, bad `providersJson` or an unreadable key file.
 */
export function createProviderRegistry(
  config: AibridgeConfig,
  env: NodeJS.ProcessEnv = process.env,
): ProviderRegistry {
  const providers = new Map<string, ModelProvider>();
  const builtin = createBuiltinProvider(config.builtinDimensions);
  providers.set(BUILTIN_PROVIDER, builtin);
  for (const entry of [...config.providers, ...providersFromJson(config.providersJson)]) {
    if (providers.has(entry.name)) {
      throw new ConfigError(`aibridge.providers: the name ${entry.name} is used twice`);
    }
    const common = { config: entry, maxResponseBytes: config.limits.maxResponseBytes };
    const timeouts = config.timeouts;
    providers.set(
      entry.name,
      entry.kind === "ollama"
        ? createOllamaProvider({ ...common, timeouts })
        : createOpenAiProvider({ ...common, timeouts, apiKey: apiKeyOf(entry, env) }),
    );
  }
  if (!providers.has(config.defaultProvider)) {
    throw new ConfigError(
      `aibridge.defaultProvider: no provider is named ${config.defaultProvider}`,
    );
  }
  const provider = (name: string) => {
    const found = providers.get(name === "" ? config.defaultProvider : name);
    if (found === undefined) {
      throw serviceError(
        Code.NotFound,
        "PROVIDER_NOT_FOUND",
        `no provider is named ${JSON.stringify(name)}; configured: ${[...providers.keys()].join(", ")}`,
        { provider: name },
      );
    }
    return found;
  };
  return {
    all: () => [...providers.values()],
    provider,
    resolve(name, model, capability) {
      const found = provider(name);
      const chosen = model === "" ? found.defaultModel(capability) : model;
      if (chosen === "") {
        if (found.kind === "builtin" && capability === "generate") {
          return { provider: found, model: "" };
        }
        throw serviceError(
          Code.FailedPrecondition,
          "NO_DEFAULT_MODEL",
          `provider ${found.name} has no default ${capability} model: name one in the request ` +
            `or set ${capability}Model in its aibridge.providers entry`,
          { provider: found.name, capability },
        );
      }
      return { provider: found, model: chosen };
    },
  };
}

function providersFromJson(text: string): ProviderConfig[] {
  if (text.trim() === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`aibridge.providersJson is not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(providerConfigSchema).safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(`aibridge.providersJson: ${parsed.error.issues[0]?.message ?? ""}`);
  }
  return parsed.data;
}

function apiKeyOf(entry: ProviderConfig, env: NodeJS.ProcessEnv): string {
  if (entry.apiKeyFile !== "") {
    try {
      return readFileSync(entry.apiKeyFile, "utf8").trim();
    } catch (error) {
      throw new ConfigError(
        `aibridge.providers[${entry.name}].apiKeyFile: cannot read ${entry.apiKeyFile}: ${(error as Error).message}`,
      );
    }
  }
  return entry.apiKeyEnv === "" ? "" : (env[entry.apiKeyEnv] ?? "");
}
