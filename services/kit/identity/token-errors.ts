import { Code, ConnectError } from "@connectrpc/connect";
import { errors } from "jose";
import { serviceError } from "../errors.js";

/**
 * The keys a token must be checked with could not be had: the JWKS endpoint
 * is down, slow, or answers something that is not a key set. Raised by the
 * key source, so it is never confused with a token's own fault.
 */
export class KeySetUnavailableError extends Error {
  override name = "KeySetUnavailableError";
}

/** What a refused token is told: the reason and a message naming no token content. */
const refusals: Record<string, [reason: string, message: string]> = {
  [errors.JWTExpired.code]: ["TOKEN_EXPIRED", "the bearer token has expired"],
  [errors.JOSEAlgNotAllowed.code]: [
    "TOKEN_ALGORITHM_NOT_ALLOWED",
    "the bearer token is signed with an algorithm this server does not accept",
  ],
  [errors.JWKSNoMatchingKey.code]: [
    "TOKEN_KEY_UNKNOWN",
    "the bearer token is signed with an unknown key",
  ],
  [errors.JWKSMultipleMatchingKeys.code]: [
    "TOKEN_KEY_UNKNOWN",
    "the bearer token does not name its key (kid) and several keys match",
  ],
  [errors.JWSSignatureVerificationFailed.code]: [
    "TOKEN_SIGNATURE_INVALID",
    "the bearer token's signature is not valid",
  ],
};

/**
 * The one place jose's errors become codes, by their stable `code` string:
 * every fault of the token (malformed, forged, expired, wrong claims, an
 * algorithm or key not accepted) is UNAUTHENTICATED with a reason; keys that
 * cannot be fetched are UNAVAILABLE, since the token may well be good.
 * Anything else is unexpected and passes on to become INTERNAL.
 */
export function tokenError(error: unknown): unknown {
  if (error instanceof ConnectError) return error;
  if (error instanceof KeySetUnavailableError || error instanceof errors.JWKSTimeout) {
    const unavailable = serviceError(
      Code.Unavailable,
      "TOKEN_KEYS_UNAVAILABLE",
      "the keys to check the bearer token cannot be fetched, try again later",
    );
    unavailable.cause = error;
    return unavailable;
  }
  if (!(error instanceof errors.JOSEError)) return error;
  const refusal = refusals[error.code];
  if (refusal === undefined && error instanceof errors.JWTClaimValidationFailed) {
    // The claim's name is the server's requirement, not token content.
    return serviceError(
      Code.Unauthenticated,
      "TOKEN_CLAIM_INVALID",
      `the bearer token's "${error.claim}" claim is ${error.reason === "missing" ? "missing" : "not acceptable"}`,
      { claim: error.claim },
    );
  }
  const [reason, message] = refusal ?? [
    "TOKEN_MALFORMED",
    "the bearer token is not a valid signed JWT",
  ];
  return serviceError(Code.Unauthenticated, reason, message);
}
