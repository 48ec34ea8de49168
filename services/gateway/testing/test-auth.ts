import { randomBytes } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { createInternalAuth, type InternalAuth } from "../../kit/identity/internal-auth.js";
import { allScopes } from "../auth/scope-table.js";

/** Issuer and audience the test gateways expect (the config defaults). */
export const testIssuer = "lakehouse-local";
export const testAudience = "lakehouse";

/** Key material and token minting for gateway tests, all in memory. */
export interface TestAuth {
  /** The public JWK Set the gateway trusts. */
  readonly jwks: { keys: JWK[] };
  /** The gateway's key source over {@link jwks}. */
  readonly keys: ReturnType<typeof createLocalJWKSet>;
  /** The gateway's internal credential and the one upstreams check it with. */
  readonly gatewayInternalAuth: InternalAuth;
  readonly upstreamInternalAuth: InternalAuth;
  /** A signed token: every scope, every dataset, valid ten minutes, unless overridden. */
  token(claims?: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  /** An interceptor adding `authorization: Bearer <token>`. */
  bearer(token: string): Interceptor;
}

/** Creates an Ed25519 signing key (kid `test-1`), its JWKS, and a shared internal secret. */
export async function createTestAuth(): Promise<TestAuth> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "test-1", alg: "EdDSA" }] };
  const secret = new Uint8Array(randomBytes(32));
  return {
    jwks,
    keys: createLocalJWKSet(jwks),
    gatewayInternalAuth: createInternalAuth({ service: "gateway", secret }),
    upstreamInternalAuth: createInternalAuth({ service: "fixture", secret }),
    async token(claims = {}, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        sub: "tester",
        iss: testIssuer,
        aud: testAudience,
        iat: now,
        exp: now + 600,
        scope: allScopes.join(" "),
        datasets: ["*"],
        ...claims,
      })
        .setProtectedHeader({ alg: "EdDSA", kid: "test-1", ...header })
        .sign(privateKey);
    },
    bearer: (token) => (next) => async (request) => {
      request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    },
  };
}
