import { jwtVerify } from "jose";
import type { CallerIdentity } from "../../kit/identity/caller-identity.js";
import { identityFromClaims } from "../../kit/identity/identity-claims.js";
import { tokenError } from "../../kit/identity/token-errors.js";
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

/** Creates the verifier of `gateway.auth`. */
export function createTokenVerifier(auth: AuthSettings, keys: KeySource): TokenVerifier {
  const names = { scopes: auth.scopesClaim, datasets: auth.datasetsClaim };
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          algorithms: [...auth.algorithms],
          issuer: auth.issuer,
          audience: auth.audience,
          requiredClaims: ["exp", "iss", "aud", "sub"],
          clockTolerance: auth.clockToleranceSeconds,
        });
        return identityFromClaims(payload, names);
      } catch (error) {
        throw tokenError(error);
      }
    },
  };
}
