import { jwtVerify, SignJWT } from "jose";
import type { CallerIdentity } from "./caller-identity.js";
import { identityFromClaims } from "./identity-claims.js";
import { requireIssuedInPast } from "./issued-at.js";
import { tokenError } from "./token-errors.js";
import { createVerifiedTokens } from "./verified-tokens.js";

/** Issuer and audience of internal tokens: a user token can never pass for one. */
const internalIssuer = "lakehouse-internal";
const internalAudience = "lakehouse-internal";
const algorithm = "HS256";
const claimNames = { scopes: "scope", datasets: "datasets" } as const;

/** Clock skew tolerated between services on different machines. */
const clockToleranceSeconds = 5;

/** Signs the internal tokens one service sends to its peers. */
export interface InternalTokenSigner {
  /** A token for calls made on behalf of `identity`; reused while more than half its life is left. */
  sign(identity: CallerIdentity): Promise<string>;
}

/**
 * Creates the signer of service `service`: short-lived HS256 tokens with the
 * shared secret, carrying the caller (subject, scopes, dataset grants) and the
 * name of the service that makes the call. Tokens are cached per identity
 * object, so a call that fans out into many peer calls signs once.
 */
export function createInternalTokenSigner(options: {
  secret: Uint8Array;
  service: string;
  ttlSeconds: number;
}): InternalTokenSigner {
  const cache = new WeakMap<CallerIdentity, { token: string; renewAt: number }>();
  return {
    async sign(identity) {
      const cached = cache.get(identity);
      if (cached && Date.now() < cached.renewAt) return cached.token;
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({
        [claimNames.scopes]: identity.scopes.join(" "),
        [claimNames.datasets]: [...identity.datasets],
        svc: options.service,
      })
        .setProtectedHeader({ alg: algorithm, typ: "JWT" })
        .setSubject(identity.subject)
        .setIssuer(internalIssuer)
        .setAudience(internalAudience)
        .setIssuedAt(now)
        .setExpirationTime(now + options.ttlSeconds)
        .sign(options.secret);
      cache.set(identity, { token, renewAt: Date.now() + (options.ttlSeconds * 1000) / 2 });
      return token;
    },
  };
}

/** An internal token, checked. */
export interface InternalCaller {
  /** The service that made the call (`gateway`, `queryd`, ...). */
  readonly service: string;
  /** The end user the call is made for. */
  readonly identity: CallerIdentity;
}

/**
 * Checks internal tokens: HS256 with the shared secret only, the internal
 * issuer and audience, `exp`, `sub` and `svc` required, no `iat` in the
 * future. A token that verified is remembered until its `exp`
 * ({@link createVerifiedTokens}): a peer reuses its token for many calls,
 * and every call would otherwise pay a WebCrypto signature check.
 *
 * @throws ConnectError UNAUTHENTICATED for any token that fails.
 */
export function createInternalTokenVerifier(options: { secret: Uint8Array }) {
  const verified = createVerifiedTokens<InternalCaller>();
  const check = async (token: string) => {
    try {
      const { payload } = await jwtVerify(token, options.secret, {
        algorithms: [algorithm],
        issuer: internalIssuer,
        audience: internalAudience,
        requiredClaims: ["exp", "iss", "aud", "sub", "svc"],
        clockTolerance: clockToleranceSeconds,
      });
      requireIssuedInPast(payload, clockToleranceSeconds);
      const service = typeof payload.svc === "string" ? payload.svc : "";
      return {
        value: { service, identity: identityFromClaims(payload, claimNames) },
        expiresAtSeconds: payload.exp ?? 0,
      };
    } catch (error) {
      throw tokenError(error);
    }
  };
  return {
    verify: (token: string): Promise<InternalCaller> => verified.verify(token, check),
  };
}
