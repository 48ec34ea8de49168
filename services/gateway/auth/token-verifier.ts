import { jwtVerify } from "jose";
import type { CallerIdentity } from "../../kit/identity/caller-identity.js";
import { identityFromClaims } from "../../kit/identity/identity-claims.js";
import { requireIssuedInPast } from "../../kit/identity/issued-at.js";
import { tokenError } from "../../kit/identity/token-errors.js";
import {
  createVerifiedTokens,
  DEFAULT_VERIFIED_TOKENS,
  type VerifiedTokenOptions,
} from "../../kit/identity/verified-tokens.js";
import type { AuthSettings } from "./auth-settings.js";
import type { KeySource } from "./key-source.js";

/** Checks the bearer tokens of public calls. */
export interface TokenVerifier {
  /**
   * The caller a token speaks for, once its signature (a pinned algorithm,
   * a key from the key source), `iss`, `aud`, `exp`, `nbf`, `iat` and `sub` hold.
   *
   * @throws ConnectError UNAUTHENTICATED for any fault of the token;
   * UNAVAILABLE when the keys cannot be fetched.
   */
  verify(token: string): Promise<CallerIdentity>;
}

/**
 * Creates the verifier of `gateway.auth`. A token that verified is
 * remembered (by its exact text) until its `exp` or `maxAgeMs`, whichever
 * comes first ({@link createVerifiedTokens}), so a client's repeated calls
 * skip the signature check, and the internal token signed for its caller is
 * reused too.
 */
export function createTokenVerifier(
  auth: AuthSettings,
  keys: KeySource,
  cacheOptions: VerifiedTokenOptions = DEFAULT_VERIFIED_TOKENS,
): TokenVerifier {
  const names = { scopes: auth.scopesClaim, datasets: auth.datasetsClaim };
  const verified = createVerifiedTokens<CallerIdentity>(cacheOptions);
  const check = async (token: string) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: [...auth.algorithms],
        issuer: auth.issuer,
        audience: auth.audience,
        requiredClaims: ["exp", "iss", "aud", "sub"],
        clockTolerance: auth.clockToleranceSeconds,
      });
      requireIssuedInPast(payload, auth.clockToleranceSeconds);
      return { value: identityFromClaims(payload, names), expiresAtSeconds: payload.exp ?? 0 };
    } catch (error) {
      throw tokenError(error);
    }
  };
  return { verify: (token) => verified.verify(token, check) };
}
