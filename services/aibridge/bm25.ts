import type { RankedDocument } from "./provider.js";
import { textTerms } from "./text-terms.js";

/** BM25's term-frequency saturation and length normalisation, at their usual values. */
const K1 = 1.2;
const B = 0.75;

/** Collects a corpus one document at a time and scores it against one query. */
export interface Bm25Accumulator {
  /** Adds a document; `id` is the caller's handle for it. */
  add(id: number, text: string): void;
  /** Every document that shares a term with the query, scored, best first. */
  ranked(): RankedDocument[];
}

/**
 * BM25 (Okapi) in one pass over a corpus of any size: only the query's terms
 * are counted, and only documents that hold one of them are kept, so memory
 * grows with the matches, not with the corpus.
 */
export function createBm25Accumulator(query: string): Bm25Accumulator {
  const queryTerms = [...new Set(textTerms(query))];
  const documentFrequency = new Map<string, number>(queryTerms.map((term) => [term, 0]));
  const matches: { id: number; length: number; counts: Map<string, number> }[] = [];
  let documents = 0;
  let totalLength = 0;
  return {
    add(id, text) {
      const terms = textTerms(text);
      documents++;
      totalLength += terms.length;
      const counts = new Map<string, number>();
      for (const term of terms) {
        if (documentFrequency.has(term)) counts.set(term, (counts.get(term) ?? 0) + 1);
      }
      if (counts.size === 0) return;
      for (const term of counts.keys()) {
        documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
      }
      matches.push({ id, length: terms.length, counts });
    },
    ranked() {
      const averageLength = documents === 0 ? 0 : totalLength / documents;
      const idf = new Map(
        [...documentFrequency].map(([term, df]) => [
          term,
          Math.log(1 + (documents - df + 0.5) / (df + 0.5)),
        ]),
      );
      return matches
        .map(({ id, length, counts }) => {
          let score = 0;
          for (const [term, tf] of counts) {
            const norm = averageLength === 0 ? 1 : 1 - B + (B * length) / averageLength;
            score += ((idf.get(term) ?? 0) * tf * (K1 + 1)) / (tf + K1 * norm);
          }
          return { index: id, score };
        })
        .sort((a, b) => b.score - a.score || a.index - b.index);
    },
  };
}

/**
 * Ranks documents by BM25 against a query, every document included (those
 * sharing no term score 0, in their original order after the rest).
 */
export function bm25Rank(query: string, documents: string[]): RankedDocument[] {
  const accumulator = createBm25Accumulator(query);
  for (const [index, text] of documents.entries()) accumulator.add(index, text);
  const ranked = accumulator.ranked();
  const seen = new Set(ranked.map((result) => result.index));
  const rest = documents.flatMap((_, index) => (seen.has(index) ? [] : [{ index, score: 0 }]));
  return [...ranked, ...rest];
}
