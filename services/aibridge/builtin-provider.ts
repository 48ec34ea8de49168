import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";
import { hashedEmbedding } from "./hashed-embedding.js";
import type { ModelProvider } from "./provider.js";

/** The built-in provider's name, always available. */
export const BUILTIN_PROVIDER = "builtin";

/** The name of the built-in embedding model: its dimension is part of it, as vectors differ. */
export function builtinModelName(dimensions: number): string {
  return `hashed-ngrams-${dimensions}`;
}

/**
 * The offline provider that makes the embedded default work anywhere with no
 * download: lexical hashed n-gram embeddings (see {@link hashedEmbedding}) and,
 * through the rerank chain, BM25. It generates no text, and says how to
 * configure a model server that does.
 */
export function createBuiltinProvider(dimensions: number): ModelProvider {
  const model = builtinModelName(dimensions);
  return {
    name: BUILTIN_PROVIDER,
    kind: "builtin",
    defaultModel: (capability) => (capability === "generate" ? "" : model),
    async embed(texts, requested) {
      if (requested !== model) {
        throw serviceError(
          Code.NotFound,
          "MODEL_NOT_FOUND",
          `provider builtin has no model ${JSON.stringify(requested)}; its only model is ${model}`,
          { provider: BUILTIN_PROVIDER, model: requested },
        );
      }
      return texts.map((text) => hashedEmbedding(text, dimensions));
    },
    // biome-ignore lint/correctness/useYield: the built-in provider refuses before producing anything.
    async *generate() {
      throw generationUnavailable();
    },
    async listModels() {
      return [{ name: model, capabilities: ["embed", "rerank"] }];
    },
  };
}

/** Why the built-in provider cannot answer Generate or AskQuestion, and what to do about it. */
export function generationUnavailable() {
  return serviceError(
    Code.FailedPrecondition,
    "NO_TEXT_GENERATION",
    "the built-in provider is lexical and generates no text: configure a model server " +
      "(aibridge.providers with kind ollama or openai, baseUrl and generateModel) and name it " +
      "in the request's provider field or in aibridge.defaultProvider; see docs/ai.md",
    { provider: BUILTIN_PROVIDER },
  );
}
