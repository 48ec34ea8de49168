import type { ProviderConfig } from "./config.js";
import type { Capability, GenerateUsage, ModelProvider, RankedDocument } from "./provider.js";
import { ProviderFailure, providerError } from "./provider-errors.js";
import { createProviderHttp, type HttpTimeouts } from "./provider-http.js";
import { jsonObject, sameLength, vectorOf } from "./provider-json.js";

/** Options of {@link createOpenAiProvider}. */
export interface OpenAiProviderOptions {
  readonly config: ProviderConfig;
  /** The API key, sent as a bearer token; empty for servers that need none. */
  readonly apiKey: string;
  readonly maxResponseBytes: number;
  readonly timeouts: HttpTimeouts;
}

/**
 * A server speaking the OpenAI API (vLLM, llama.cpp server, LM Studio, hosted
 * APIs): `/v1/embeddings`, `/v1/chat/completions` streamed as server-sent
 * events, `/v1/models`, and `/v1/rerank` when the config says the server
 * offers it. `baseUrl` may end in `/v1` or not.
 */
export function createOpenAiProvider(options: OpenAiProviderOptions): ModelProvider {
  const { config } = options;
  const http = createProviderHttp({
    baseUrl: config.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, ""),
    headers: options.apiKey === "" ? {} : { authorization: `Bearer ${options.apiKey}` },
    maxResponseBytes: options.maxResponseBytes,
    timeouts: options.timeouts,
  });
  const defaults = {
    embed: config.embedModel,
    generate: config.generateModel,
    rerank: config.rerankModel,
  };
  const rerank = async (
    query: string,
    documents: string[],
    model: string,
    signal: AbortSignal,
  ): Promise<RankedDocument[]> => {
    try {
      const answer = (await http.json("/v1/rerank", { model, query, documents }, signal)) as {
        results?: { index?: unknown; relevance_score?: unknown }[];
      };
      if (!Array.isArray(answer.results)) {
        throw new ProviderFailure("malformed", "the rerank answer has no results");
      }
      return answer.results.map((result) => {
        const index = Number(result.index);
        const score = Number(result.relevance_score);
        if (!Number.isInteger(index) || index < 0 || index >= documents.length) {
          throw new ProviderFailure("malformed", "a rerank result has no valid index");
        }
        if (!Number.isFinite(score)) {
          throw new ProviderFailure("malformed", "a rerank result has no score");
        }
        return { index, score };
      });
    } catch (error) {
      throw providerError(config.name, model, error, signal);
    }
  };
  return {
    name: config.name,
    kind: "openai",
    defaultModel: (capability) => defaults[capability],
    ...(config.rerankEndpoint ? { rerank } : {}),
    async embed(texts, model, signal) {
      try {
        const answer = (await http.json(
          "/v1/embeddings",
          { model, input: texts, encoding_format: "float" },
          signal,
        )) as { data?: { index?: unknown; embedding?: unknown }[] };
        if (!Array.isArray(answer.data)) {
          throw new ProviderFailure("malformed", "the embeddings answer has no data");
        }
        const ordered = [...answer.data].sort((a, b) => Number(a.index) - Number(b.index));
        return sameLength(
          ordered.map((item) => vectorOf(item.embedding)),
          texts.length,
        );
      } catch (error) {
        throw providerError(config.name, model, error, signal);
      }
    },
    async *generate(input, signal) {
      const body: Record<string, unknown> = {
        model: input.model,
        messages: input.messages,
        max_tokens: input.maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      };
      if (input.temperature !== undefined) body.temperature = input.temperature;
      let finishReason = "";
      let usage: Omit<GenerateUsage, "finishReason"> = { promptTokens: 0, outputTokens: 0 };
      try {
        for await (const line of http.lines("/v1/chat/completions", body, signal)) {
          // SSE: `data: ...` lines carry events; blank lines, comments and other fields do not.
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") {
            yield { usage: { ...usage, finishReason: finishReason || "stop" } };
            return;
          }
          const chunk = jsonObject(data);
          if (chunk.error !== undefined) {
            const error = chunk.error as { message?: unknown } | string;
            const message = typeof error === "string" ? error : String(error.message ?? "");
            throw new ProviderFailure("status", message, 500);
          }
          const choice = (chunk.choices as Record<string, unknown>[] | undefined)?.[0];
          const delta = choice?.delta as { content?: unknown } | undefined;
          if (typeof delta?.content === "string" && delta.content !== "") {
            yield { text: delta.content };
          }
          if (typeof choice?.finish_reason === "string") finishReason = choice.finish_reason;
          const counts = chunk.usage as Record<string, unknown> | null | undefined;
          if (counts) {
            usage = {
              promptTokens: Number(counts.prompt_tokens ?? 0),
              outputTokens: Number(counts.completion_tokens ?? 0),
            };
          }
        }
        throw new ProviderFailure("malformed", "the stream ended without data: [DONE]");
      } catch (error) {
        throw providerError(config.name, input.model, error, signal);
      }
    },
    async listModels(signal) {
      try {
        const answer = (await http.json("/v1/models", undefined, signal)) as {
          data?: { id?: unknown }[];
        };
        if (!Array.isArray(answer.data)) {
          throw new ProviderFailure("malformed", "/v1/models has no data list");
        }
        return answer.data.map((model) => {
          const name = String(model.id ?? "");
          return { name, capabilities: openAiCapabilities(name, config) };
        });
      } catch (error) {
        throw providerError(config.name, "", error, signal);
      }
    },
  };
}

/** `/v1/models` says nothing of capabilities: the configured defaults and the name tell. */
function openAiCapabilities(name: string, config: ProviderConfig): Capability[] {
  if (name === config.rerankModel || /rerank/i.test(name)) return ["rerank"];
  if (name === config.embedModel || /embed/i.test(name)) return ["embed"];
  return ["generate"];
}
