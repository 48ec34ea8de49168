import { Code, ConnectError } from "@connectrpc/connect";
import { bm25Rank } from "./bm25.js";
import { cosineSimilarity, embedInBatches } from "./embed-batches.js";
import { byScore, type ModelProvider, type RankedDocument } from "./provider.js";
import type { ProviderRegistry } from "./provider-registry.js";

/** Which method ranked the documents, as RerankResponse.method names it. */
export type RerankMethod = "rerank" | "embedding_cosine" | "bm25";

/** A ranking and how it was made. */
export interface Reranked {
  readonly results: RankedDocument[];
  readonly method: RerankMethod;
}

/**
 * Ranks documents by the best method the provider has, in a fixed chain:
 *
 * 1. the provider's rerank endpoint (OpenAI-compatible servers configured with
 *    `rerankEndpoint: true`), with the request's model or `rerankModel`;
 * 2. else cosine similarity of the provider's embeddings (the request's model
 *    or `embedModel`); when the provider has no embedding model, or answers
 *    that the model cannot embed (NOT_FOUND, INVALID_ARGUMENT), on to 3;
 * 3. BM25 over the documents themselves. The built-in provider goes straight
 *    here: its embeddings are lexical already and BM25 ranks words better.
 *
 * A provider that is down fails the call (UNAVAILABLE): the chain follows
 * what a provider can do, never hides that it is broken.
 */
export async function rerankWithFallback(
  registry: ProviderRegistry,
  request: { query: string; documents: string[]; provider: string; model: string },
  batchSize: number,
  signal: AbortSignal,
): Promise<Reranked> {
  const provider = registry.provider(request.provider);
  if (provider.rerank !== undefined) {
    const model = request.model || provider.defaultModel("rerank");
    if (model !== "") {
      const results = await provider.rerank(request.query, request.documents, model, signal);
      return { results: [...results].sort(byScore), method: "rerank" };
    }
  }
  const byEmbeddings = await embeddingRank(provider, request, batchSize, signal);
  if (byEmbeddings !== undefined) return { results: byEmbeddings, method: "embedding_cosine" };
  return { results: bm25Rank(request.query, request.documents), method: "bm25" };
}

async function embeddingRank(
  provider: ModelProvider,
  request: { query: string; documents: string[]; model: string },
  batchSize: number,
  signal: AbortSignal,
): Promise<RankedDocument[] | undefined> {
  if (provider.kind === "builtin") return undefined;
  const model =
    (provider.rerank === undefined ? request.model : "") || provider.defaultModel("embed");
  if (model === "") return undefined;
  try {
    const [query, ...documents] = await embedInBatches(
      { provider, model },
      [request.query, ...request.documents],
      batchSize,
      signal,
    );
    return documents
      .map((vector, index) => ({ index, score: cosineSimilarity(query ?? [], vector) }))
      .sort(byScore);
  } catch (error) {
    const code = ConnectError.from(error).code;
    if (!signal.aborted && (code === Code.NotFound || code === Code.InvalidArgument)) {
      return undefined;
    }
    throw error;
  }
}
