import { textTerms } from "./text-terms.js";

/** Weight of a whole word, of a pair of adjacent words, and of one character trigram. */
const WORD_WEIGHT = 1;
const PAIR_WEIGHT = 0.5;
const TRIGRAM_WEIGHT = 0.25;

const encoder = new TextEncoder();

/** FNV-1a over the UTF-8 bytes, 32 bits: stable across processes, machines and versions. */
function fnv1a(text: string, seed: number): number {
  let hash = 0x811c9dc5 ^ seed;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The built-in provider's embedding: hashed word, word-pair and character
 * trigram features (the "hashing trick"), each added with a hash-chosen sign
 * so collisions cancel out on average instead of piling up, then L2-normalised
 * so cosine similarity is a dot product. Lexical, not neural: texts are close
 * when they share words or word pieces, not when they mean the same thing.
 * Deterministic: the same text always gives the same vector. A text without
 * letters or digits gives the zero vector.
 */
export function hashedEmbedding(text: string, dimensions: number): number[] {
  const vector = new Float64Array(dimensions);
  const add = (feature: string, weight: number) => {
    const bucket = fnv1a(feature, 0) % dimensions;
    const sign = fnv1a(feature, 0x5bd1e995) & 1 ? 1 : -1;
    vector[bucket] = (vector[bucket] ?? 0) + sign * weight;
  };
  const terms = textTerms(text);
  terms.forEach((term, i) => {
    add(`w:${term}`, WORD_WEIGHT);
    const next = terms[i + 1];
    if (next !== undefined) add(`p:${term} ${next}`, PAIR_WEIGHT);
    const padded = `<${term}>`;
    for (let start = 0; start + 3 <= padded.length; start++) {
      add(`c:${padded.slice(start, start + 3)}`, TRIGRAM_WEIGHT);
    }
  });
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  // Rounded to float32: the values the RPC carries and the index stores.
  return Array.from(vector, (value) => (norm === 0 ? 0 : Math.fround(value / norm)));
}
