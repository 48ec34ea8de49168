import type { ResolvedModel } from "./provider-registry.js";

/**
 * Embeds any number of texts in provider calls of at most `batchSize` texts,
 * in order: rerank and index building send more texts than one call takes.
 */
export async function embedInBatches(
  target: ResolvedModel,
  texts: readonly string[],
  batchSize: number,
  signal: AbortSignal,
): Promise<number[][]> {
  const vectors: number[][] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = texts.slice(start, start + batchSize);
    vectors.push(...(await target.provider.embed(batch, target.model, signal)));
  }
  return vectors;
}

/** Cosine similarity; 0 when either vector is all zeros. */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}
