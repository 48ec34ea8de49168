import { Code } from "@connectrpc/connect";
import type { JWTPayload } from "jose";
import { serviceError } from "../errors.js";
import type { CallerIdentity } from "./caller-identity.js";

/** Which claims of a verified token hold the scopes and the dataset grants. */
export interface IdentityClaimNames {
  /** Space-separated string (OAuth 2 `scope`) or array of strings. */
  readonly scopes: string;
  /** Array of grant patterns, or a space-separated string. */
  readonly datasets: string;
}

/**
 * Reads the caller out of a verified token's claims. A claim that is present
 * but of the wrong type refuses the token rather than being read as empty,
 * so an issuer's mistake shows instead of silently removing access.
 *
 * @throws ConnectError UNAUTHENTICATED (reason `TOKEN_CLAIM_INVALID`).
 */
export function identityFromClaims(payload: JWTPayload, names: IdentityClaimNames): CallerIdentity {
  const subject = payload.sub;
  if (typeof subject !== "string" || subject === "") throw claimInvalid("sub");
  return {
    subject,
    scopes: stringList(payload[names.scopes], names.scopes),
    datasets: stringList(payload[names.datasets], names.datasets),
  };
}

function stringList(value: unknown, claim: string): string[] {
  if (value === undefined) return [];
  if (typeof value === "string") return value.split(" ").filter((item) => item !== "");
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
  throw claimInvalid(claim);
}

function claimInvalid(claim: string) {
  return serviceError(
    Code.Unauthenticated,
    "TOKEN_CLAIM_INVALID",
    `the bearer token's "${claim}" claim is missing or not acceptable`,
    { claim },
  );
}
