import type { ProviderConfig } from "./config.js";
import type { GenerateUsage, ModelProvider, ProviderModel } from "./provider.js";
import { ProviderFailure, providerError } from "./provider-errors.js";
import { createProviderHttp, type HttpTimeouts } from "./provider-http.js";
import { jsonObject, vectorsOf } from "./provider-json.js";

/** Options of {@link createOllamaProvider}. */
export interface OllamaProviderOptions {
  readonly config: ProviderConfig;
  readonly maxResponseBytes: number;
  readonly timeouts: HttpTimeouts;
}

/**
 * An Ollama server through its native API: `/api/embed`, `/api/generate`
 * (a plain prompt) and `/api/chat` (a conversation), both streamed as NDJSON,
 * and `/api/tags`. Ollama has no rerank endpoint.
 */
export function createOllamaProvider(options: OllamaProviderOptions): ModelProvider {
  const { config } = options;
  const http = createProviderHttp({
    baseUrl: config.baseUrl,
    maxResponseBytes: options.maxResponseBytes,
    timeouts: options.timeouts,
  });
  const defaults = {
    embed: config.embedModel,
    generate: config.generateModel,
    rerank: config.rerankModel,
  };
  return {
    name: config.name,
    kind: "ollama",
    defaultModel: (capability) => defaults[capability],
    async embed(texts, model, signal) {
      try {
        const answer = await http.json("/api/embed", { model, input: texts }, signal);
        return vectorsOf(answer, "embeddings", texts.length);
      } catch (error) {
        throw providerError(config.name, model, error, signal);
      }
    },
    async *generate(input, signal) {
      const [first, ...rest] = input.messages;
      const plain = rest.length === 1 && first?.role === "system" && rest[0]?.role === "user";
      const single = input.messages.length === 1 && first?.role === "user";
      const ollamaOptions: Record<string, number> = { num_predict: input.maxTokens };
      if (input.temperature !== undefined) ollamaOptions.temperature = input.temperature;
      const [path, body] =
        plain || single
          ? [
              "/api/generate",
              {
                model: input.model,
                prompt: (single ? first : rest[0])?.content ?? "",
                ...(plain ? { system: first?.content } : {}),
                stream: true,
                options: ollamaOptions,
              },
            ]
          : [
              "/api/chat",
              {
                model: input.model,
                messages: input.messages,
                stream: true,
                options: ollamaOptions,
              },
            ];
      try {
        for await (const line of http.lines(path, body, signal)) {
          if (line.trim() === "") continue;
          const step = ollamaLine(jsonObject(line));
          if (step.text !== "") yield { text: step.text };
          if (step.usage !== undefined) {
            yield { usage: step.usage };
            return;
          }
        }
        throw new ProviderFailure("malformed", "the stream ended without a done message");
      } catch (error) {
        throw providerError(config.name, input.model, error, signal);
      }
    },
    async listModels(signal) {
      try {
        const answer = (await http.json("/api/tags", undefined, signal)) as {
          models?: { name?: unknown; details?: { family?: unknown; families?: unknown } }[];
        };
        if (!Array.isArray(answer.models)) {
          throw new ProviderFailure("malformed", "/api/tags has no models list");
        }
        return answer.models.map(ollamaModel);
      } catch (error) {
        throw providerError(config.name, "", error, signal);
      }
    },
  };
}

/** One NDJSON line of `/api/generate` or `/api/chat`, as Ollama writes it. */
function ollamaLine(value: Record<string, unknown>): { text: string; usage?: GenerateUsage } {
  if (typeof value.error === "string") {
    throw new ProviderFailure("status", value.error, 500);
  }
  const message = value.message as { content?: unknown } | undefined;
  const text = typeof value.response === "string" ? value.response : message?.content;
  if (value.done !== true) return { text: typeof text === "string" ? text : "" };
  return {
    text: typeof text === "string" ? text : "",
    usage: {
      promptTokens: Number(value.prompt_eval_count ?? 0),
      outputTokens: Number(value.eval_count ?? 0),
      finishReason: typeof value.done_reason === "string" ? value.done_reason : "stop",
    },
  };
}

/** Embedding-only families (BERT-style encoders) cannot generate; the rest can do both. */
function ollamaModel(model: {
  name?: unknown;
  details?: { family?: unknown; families?: unknown };
}): ProviderModel {
  const name = String(model.name ?? "");
  const families = [
    model.details?.family,
    ...(Array.isArray(model.details?.families) ? model.details.families : []),
  ].map((family) => String(family ?? "").toLowerCase());
  const encoder = /embed|minilm|bge/i.test(name) || families.some((f) => f.includes("bert"));
  return { name, capabilities: encoder ? ["embed"] : ["generate", "embed"] };
}
