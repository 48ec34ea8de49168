import { createLruCache } from "../lru-cache.js";

/** How verified tokens are remembered. */
export interface VerifiedTokenOptions {
  /** Most tokens remembered; the least recently used is forgotten first. */
  readonly capacity: number;
  /** Longest a verdict is reused, so a key withdrawn from its source stops tokens soon. */
  readonly maxAgeMs: number;
}

/** A token's verdict: what it proved and when it expires (`exp`, in seconds). */
export interface TokenVerdict<T> {
  readonly value: T;
  readonly expiresAtSeconds: number;
}

/**
 * Remembers what tokens proved. A client reuses one token for many calls,
 * and a signature check (WebCrypto, through the thread pool) costs far more
 * than the call it guards; a remembered token skips it until its `exp` or
 * `maxAgeMs`, whichever comes first. Refused tokens are never remembered,
 * and the same value is returned for every use of one token (so what is
 * derived from it per object, such as a signed internal token, is reused too).
 */
export interface VerifiedTokens<T> {
  /** The remembered value for `token`, else `check(token)`'s, remembered when it verifies. */
  verify(token: string, check: (token: string) => Promise<TokenVerdict<T>>): Promise<T>;
}

/** The defaults: a thousand callers at once, each re-checked at least once a minute. */
export const DEFAULT_VERIFIED_TOKENS: VerifiedTokenOptions = { capacity: 1024, maxAgeMs: 60_000 };

/** Creates an empty store of verified tokens. */
export function createVerifiedTokens<T>(
  options: VerifiedTokenOptions = DEFAULT_VERIFIED_TOKENS,
): VerifiedTokens<T> {
  const verified = createLruCache<string, { value: T; until: number }>(options.capacity);
  return {
    async verify(token, check) {
      const now = Date.now();
      const cached = verified.get(token);
      if (cached !== undefined) {
        if (now < cached.until) return cached.value;
        verified.delete(token);
      }
      const verdict = await check(token);
      // The clock tolerance of the check applies again on the next miss.
      const until = Math.min(verdict.expiresAtSeconds * 1000, now + options.maxAgeMs);
      if (until > now) verified.set(token, { value: verdict.value, until });
      return verdict.value;
    },
  };
}
