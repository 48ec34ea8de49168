import { errors, type JWTPayload } from "jose";

/**
 * Refuses a token that says it was issued later than now plus the clock
 * tolerance. jose compares `iat` with the clock only when a maximum token
 * age is configured, which would also make `iat` required; tokens here need
 * no `iat`, but one that claims a future issue was minted by a wrong clock or
 * to outlive a key rotation, so it is refused like a future `nbf`. Called
 * after `jwtVerify`, which has already checked that a present `iat` is a
 * number.
 *
 * @throws jose's JWTClaimValidationFailed (claim `iat`), which
 * {@link tokenError} turns into UNAUTHENTICATED (`TOKEN_CLAIM_INVALID`).
 */
export function requireIssuedInPast(
  payload: JWTPayload,
  clockToleranceSeconds: number,
  nowMs: number = Date.now(),
): void {
  if (payload.iat === undefined) return;
  if (payload.iat > Math.floor(nowMs / 1000) + clockToleranceSeconds) {
    throw new errors.JWTClaimValidationFailed(
      '"iat" claim timestamp check failed (it should be in the past)',
      payload,
      "iat",
      "check_failed",
    );
  }
}
