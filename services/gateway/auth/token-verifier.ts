import { jwtVerify } from "jose";
import type { CallerIdentity } from "../../kit/identity/caller-identity.js";
import { identityFromClaims } from "../../kit/identity/identity-claims.js";
import { tokenError } from "../../kit/identity/token-errors.js";
import { createLruCache } from "../../kit/lru-cache.js";
import type { AuthSettings } from "./auth-settings.js";
import type { KeySource } from "./key-source.js";

/** Checks the bearer tokens of public calls. */
export interface TokenVerifier {
  /**
   * The caller a token speaks for, once its signature (a pinned algorithm,
   * a key from the key source), `iss`, `aud`, `exp`, `nbf` and `sub` hold.
   *
   * @throws ConnectError UNAUTHENTICATED for any fault of the token;
   * UNAVAILABLE when the keys cannot be fetched.
   */
  verify(token: string): Promise<CallerIdentity>;
}

/** How verified tokens are remembered; see {@link createTokenVerifier}. */
export interface VerifiedTokenCacheOptions {
  /** Most tokens remembered; the least recently used is forgotten first. */
  readonly capacity: number;
  /** Longest a verdict is reused, so a key withdrawn from the key source stops tokens soon. */
  readonly maxAgeMs: number;
}

/** A client reuses one token for many calls: a thousand callers at once stay cached. */
const defaultCacheOptions: VerifiedTokenCacheOptions = { capacity: 1024, maxAgeMs: 60_000 };

/**
 * Creates the verifier of `gateway.auth`. A token that verified is
 * remembered (by its exact text) until its `exp` or `maxAgeMs`, whichever
 * comes first, so a client's repeated calls skip the signature check; a
 * refused token is never remembered. The same identity object is returned
 * for every call of one token, so the internal token signed for it is
 * reused too.
 */
export function createTokenVerifier(
  auth: AuthSettings,
  keys: KeySource,
  cacheOptions: VerifiedTokenCacheOptions = defaultCacheOptions,
): TokenVerifier {
  const names = { scopes: auth.scopesClaim, datasets: auth.datasetsClaim };
  const verified = createLruCache<string, { identity: CallerIdentity; until: number }>(
    cacheOptions.capacity,
  );
  return {
    async verify(token) {
      const now = Date.now();
      const cached = verified.get(token);
      if (cached !== undefined) {
        if (now < cached.until) return cached.identity;
        verified.delete(token);
      }
      try {
        const { payload } = await jwtVerify(token, keys, {
          algorithms: [...auth.algorithms],
          issuer: auth.issuer,
          audience: auth.audience,
          requiredClaims: ["exp", "iss", "aud", "sub"],
          clockTolerance: auth.clockToleranceSeconds,
        });
        const identity = identityFromClaims(payload, names);
        // `exp` is required above; the clock tolerance is left to jwtVerify on the next miss.
        const until = Math.min((payload.exp ?? 0) * 1000, now + cacheOptions.maxAgeMs);
        if (until > now) verified.set(token, { identity, until });
        return identity;
      } catch (error) {
        throw tokenError(error);
      }
    },
  };
}
