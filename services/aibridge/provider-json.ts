import { ProviderFailure } from "./provider-errors.js";

/** Parses one line or body that must be a JSON object; anything else is a malformed answer. */
export function jsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProviderFailure("malformed", `not JSON: ${text.slice(0, 200)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProviderFailure("malformed", `not a JSON object: ${text.slice(0, 200)}`);
  }
  return value as Record<string, unknown>;
}

/** Checks that a value is a vector of finite numbers. */
export function vectorOf(value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ProviderFailure("malformed", "an embedding is not a list of numbers");
  }
  for (const component of value) {
    if (typeof component !== "number" || !Number.isFinite(component)) {
      throw new ProviderFailure("malformed", "an embedding holds a value that is not a number");
    }
  }
  return value as number[];
}

/**
 * Reads `answer[key]` as one vector per text, all of one length: a server that
 * answers with fewer vectors, or vectors of mixed lengths, is refused rather
 * than trusted.
 */
export function vectorsOf(answer: unknown, key: string, expected: number): number[][] {
  const list = (answer as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(list)) throw new ProviderFailure("malformed", `the answer has no ${key}`);
  return sameLength(list.map(vectorOf), expected);
}

/** Refuses a count or length mismatch among vectors. */
export function sameLength(vectors: number[][], expected: number): number[][] {
  if (vectors.length !== expected) {
    throw new ProviderFailure(
      "malformed",
      `expected ${expected} embeddings, the answer holds ${vectors.length}`,
    );
  }
  const dimensions = vectors[0]?.length ?? 0;
  if (vectors.some((vector) => vector.length !== dimensions)) {
    throw new ProviderFailure("malformed", "the embeddings differ in length");
  }
  return vectors;
}
