import { z } from "zod";
import { internalAuthSettings } from "../kit/identity/internal-auth.js";
import { serverSettings } from "../kit/server.js";

/** A provider name: what requests put in their `provider` field. */
const providerName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, "expected a lower-case name such as ollama or openai");

/**
 * One model server aibridge may call. `builtin` needs no entry: it is always
 * there, offline.
 */
export const providerConfigSchema = z.object({
  name: providerName,
  /** The protocol the server speaks. */
  kind: z.enum(["ollama", "openai"]),
  /** e.g. `http://127.0.0.1:11434` (Ollama) or `https://api.example.com/v1` (OpenAI-compatible). */
  baseUrl: z.url({ protocol: /^https?$/, error: "expected an http(s):// URL" }),
  /** A file holding the API key (OpenAI-compatible); read at start, trimmed. */
  apiKeyFile: z.string().default(""),
  /** An environment variable holding the API key, when `apiKeyFile` is empty. */
  apiKeyEnv: z.string().default(""),
  /** The model used for Embed and search indexes when a request names none. */
  embedModel: z.string().default(""),
  /** The model used for Generate and AskQuestion when a request names none. */
  generateModel: z.string().default(""),
  /** The model used for Rerank's rerank endpoint when a request names none. */
  rerankModel: z.string().default(""),
  /** Whether the server has `/v1/rerank` (OpenAI-compatible servers such as vLLM or llama.cpp). */
  rerankEndpoint: z.boolean().default(false),
});

/** One configured model server. */
export type ProviderConfig = z.output<typeof providerConfigSchema>;

/**
 * The `aibridge` section of the config file; every key can also be set by
 * `LAKEHOUSE_AIBRIDGE_<KEY>` (e.g. `LAKEHOUSE_AIBRIDGE_DEFAULT_PROVIDER=ollama`).
 * Providers are a list, so they come from the file, or as JSON in
 * `LAKEHOUSE_AIBRIDGE_PROVIDERS_JSON`.
 */
export const aibridgeConfigSchema = z.object({
  ...serverSettings("127.0.0.1:7104"),
  ...internalAuthSettings(),
  /** catalogd's base URL (gRPC over HTTP/2): search indexes are datasets. */
  catalogUrl: z.url().default("http://127.0.0.1:7102"),
  /** storaged's base URL: index files are uploaded there. */
  storageUrl: z.url().default("http://127.0.0.1:7101"),
  /** queryd's base URL: source columns are read and searches run there. */
  queryUrl: z.url().default("http://127.0.0.1:7103"),
  /** Where index Parquet files are written before upload. */
  workDirectory: z.string().min(1).default(".data/aibridge-work"),
  /** The provider used when a request names none. */
  defaultProvider: providerName.default("builtin"),
  /** Model servers besides `builtin`. */
  providers: z.array(providerConfigSchema).default([]),
  /** The same list as JSON text, for environments without a config file; added to `providers`. */
  providersJson: z.string().default(""),
  /** Vector length of the built-in provider's hashed n-gram embeddings. */
  builtinDimensions: z.number().int().min(16).max(4096).default(256),
  limits: z
    .object({
      /** Texts per Embed call and documents per Rerank call. */
      maxTexts: z.number().int().min(1).max(256).default(256),
      /** UTF-8 bytes per text or document. */
      maxTextBytes: z
        .number()
        .int()
        .min(1)
        .max(32 * 1024)
        .default(32 * 1024),
      /** UTF-8 bytes of a Generate prompt. */
      maxPromptBytes: z
        .number()
        .int()
        .min(1)
        .max(64 * 1024)
        .default(64 * 1024),
      /** Tokens Generate may produce when the request names none. */
      defaultOutputTokens: z.number().int().min(1).max(8192).default(512),
      /** Bytes of generated text one Generate call may stream before it is cut off. */
      maxOutputBytes: z
        .number()
        .int()
        .min(1024)
        .default(1024 * 1024),
      /** Bytes one provider answer may have (embeddings, model lists); beyond, it is cut off. */
      maxResponseBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .default(64 * 1024 * 1024),
      /** Distinct texts one search index may hold. */
      maxIndexTexts: z.number().int().min(1).default(1_000_000),
    })
    .prefault({}),
  timeouts: z
    .object({
      /** How long a provider may take to answer an embedding or model-list request. */
      requestMs: z.number().int().min(100).default(60_000),
      /** How long a provider may take before the first generated token. */
      firstTokenMs: z.number().int().min(100).default(120_000),
      /** How long a provider may stay silent between two generated pieces. */
      idleMs: z.number().int().min(100).default(60_000),
    })
    .prefault({}),
});

/** Validated `aibridge` settings. */
export type AibridgeConfig = z.output<typeof aibridgeConfigSchema>;

/** The limits section of {@link AibridgeConfig}. */
export type AiLimits = AibridgeConfig["limits"];

/** The timeouts section of {@link AibridgeConfig}. */
export type AiTimeouts = AibridgeConfig["timeouts"];
