import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type AiService, SearchMode } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { canonicalDatasetName } from "../catalogd/dataset-name.js";
import { serviceError } from "../kit/errors.js";
import { askQuestion } from "./ask-question.js";
import { buildSearchIndex } from "./build-search-index.js";
import type { AiLimits } from "./config.js";
import { checkDatasetGrant, grantedDatasets } from "./dataset-grants.js";
import { searchDataset } from "./dataset-search.js";
import type { IndexParquetWriter } from "./index-parquet.js";
import type { LakehouseClients } from "./lakehouse-clients.js";
import type { ChatMessage } from "./provider.js";
import type { ProviderRegistry } from "./provider-registry.js";
import { relaying } from "./relayed-error.js";
import {
  checkRequiredText,
  checkTemperature,
  checkTexts,
  outputTokens,
  truncateUtf8,
} from "./request-checks.js";
import { rerankWithFallback } from "./rerank-chain.js";

/** What the AI service is built from. */
export interface AiServiceDeps {
  readonly registry: ProviderRegistry;
  readonly limits: AiLimits;
  /** The data services; search, index building and questions need them. */
  readonly clients: LakehouseClients;
  readonly writer: IndexParquetWriter;
  /** Where index files are staged before upload. */
  readonly workDirectory: string;
}

/** SearchDataset's `k`: 0 means this, and more than {@link MAX_SEARCH_K} is refused. */
const DEFAULT_SEARCH_K = 10;
const MAX_SEARCH_K = 1000;

/** The most bytes of a question, from the contract. */
const MAX_QUESTION_BYTES = 4096;

/**
 * The implementation of `lakehouse.ai.v1.AiService`: checks requests against
 * the limits, routes them to the chosen provider, and leaves every provider
 * failure as the code {@link providerError} chose.
 */
export function createAiService(deps: AiServiceDeps): ServiceImpl<typeof AiService> {
  const { registry, limits } = deps;
  return {
    async embed(request, context) {
      checkTexts(request.texts, limits);
      const target = registry.resolve(request.provider, request.model, "embed");
      const vectors = await target.provider.embed(request.texts, target.model, context.signal);
      return {
        embeddings: vectors.map((values) => ({ values })),
        provider: target.provider.name,
        model: target.model,
        dimensions: vectors[0]?.length ?? 0,
      };
    },

    async *generate(request, context) {
      checkRequiredText(request.prompt, "prompt", limits.maxPromptBytes);
      checkOptionalText(request.system, limits.maxPromptBytes);
      const maxTokens = outputTokens(request.maxTokens, limits.defaultOutputTokens);
      const temperature = checkTemperature(request.temperature);
      const target = registry.resolve(request.provider, request.model, "generate");
      const messages: ChatMessage[] = [
        ...(request.system === "" ? [] : [{ role: "system" as const, content: request.system }]),
        { role: "user", content: request.prompt },
      ];
      let sent = 0;
      const events = target.provider.generate(
        { model: target.model, messages, maxTokens, temperature },
        context.signal,
      );
      for await (const event of events) {
        if ("usage" in event) {
          const { promptTokens, outputTokens: generated, finishReason } = event.usage;
          yield {
            payload: {
              case: "usage",
              value: {
                promptTokens: BigInt(Math.max(0, Math.trunc(promptTokens) || 0)),
                outputTokens: BigInt(Math.max(0, Math.trunc(generated) || 0)),
                finishReason,
              },
            },
          };
          return;
        }
        const room = limits.maxOutputBytes - sent;
        const piece = truncateUtf8(event.text, room);
        sent += Buffer.byteLength(piece, "utf8");
        if (piece !== "") yield { payload: { case: "text", value: piece } };
        if (piece !== event.text) {
          // Cut off: leaving the loop closes the provider's stream and its connection.
          yield {
            payload: {
              case: "usage",
              value: { promptTokens: 0n, outputTokens: 0n, finishReason: "length" },
            },
          };
          return;
        }
      }
    },

    async rerank(request, context) {
      checkRequiredText(request.query, "query", limits.maxTextBytes);
      checkTexts(request.documents, limits, "documents");
      if (request.topN < 0) {
        throw serviceError(Code.InvalidArgument, "BAD_TOP_N", "top_n must be 0 (all) or more");
      }
      const ranked = await rerankWithFallback(registry, request, limits.maxTexts, context.signal);
      const results = request.topN > 0 ? ranked.results.slice(0, request.topN) : ranked.results;
      return { results, method: ranked.method };
    },

    async listModels(request, context) {
      const providers =
        request.provider === "" ? registry.all() : [registry.provider(request.provider)];
      const answers = await Promise.all(
        providers.map(async (provider) => {
          try {
            return { provider, models: await provider.listModels(context.signal) };
          } catch (error) {
            if (request.provider !== "" || context.signal.aborted) throw error;
            return { provider, error: ConnectError.from(error).rawMessage };
          }
        }),
      );
      return {
        models: answers.flatMap((answer) =>
          (answer.models ?? []).map((model) => ({ provider: answer.provider.name, ...model })),
        ),
        providers: answers.map((answer) => ({
          provider: answer.provider.name,
          available: answer.error === undefined,
          error: answer.error ?? "",
        })),
      };
    },

    async buildSearchIndex(request, context) {
      requireField(request.dataset, "dataset");
      requireField(request.column, "column");
      if (request.version < 0n) {
        throw serviceError(
          Code.InvalidArgument,
          "BAD_VERSION",
          "version must be 0 (latest) or more",
        );
      }
      const dataset = canonicalDatasetName(request.dataset);
      checkDatasetGrant(context.values, dataset);
      return relaying(() => buildSearchIndex(deps, { ...request, dataset }, context.signal));
    },

    async searchDataset(request, context) {
      requireField(request.dataset, "dataset");
      requireField(request.column, "column");
      checkRequiredText(request.query, "query", limits.maxTextBytes);
      if (request.k < 0 || request.k > MAX_SEARCH_K) {
        throw serviceError(
          Code.InvalidArgument,
          "BAD_K",
          `k must be 0 (${DEFAULT_SEARCH_K}) to ${MAX_SEARCH_K}`,
        );
      }
      const dataset = canonicalDatasetName(request.dataset);
      checkDatasetGrant(context.values, dataset);
      return relaying(() =>
        searchDataset(
          { clients: deps.clients, registry, maxTextBytes: limits.maxTextBytes },
          {
            dataset,
            column: request.column,
            query: request.query,
            k: request.k === 0 ? DEFAULT_SEARCH_K : request.k,
            mode: request.mode === SearchMode.UNSPECIFIED ? SearchMode.HYBRID : request.mode,
          },
          context.signal,
        ),
      );
    },

    async askQuestion(request, context) {
      checkRequiredText(request.question, "question", MAX_QUESTION_BYTES);
      const datasets = request.datasets.map(canonicalDatasetName);
      for (const dataset of datasets) checkDatasetGrant(context.values, dataset);
      return relaying(() =>
        askQuestion(
          {
            clients: deps.clients,
            registry,
            maxPromptBytes: limits.maxPromptBytes,
            granted: (names) => grantedDatasets(context.values, names),
          },
          { ...request, datasets },
          context.signal,
        ),
      );
    },
  };
}

/** @throws INVALID_ARGUMENT (MISSING_FIELD) for an empty field. */
function requireField(value: string, field: string): void {
  if (value === "") {
    throw serviceError(Code.InvalidArgument, "MISSING_FIELD", `${field} is required`, { field });
  }
}

/** An optional text field: empty is fine, too large is not. */
function checkOptionalText(value: string, maxBytes: number): void {
  if (value !== "") checkRequiredText(value, "system", maxBytes);
}
