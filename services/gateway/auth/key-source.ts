import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from "jose";
import { ConfigError } from "../../kit/config.js";
import { KeySetUnavailableError } from "../../kit/identity/token-errors.js";
import type { AuthSettings } from "./auth-settings.js";

/** Finds the key a token's header names; jose calls it once per verification. */
export type KeySource = JWTVerifyGetKey;

/**
 * Builds the gateway's key source from `gateway.auth`: a JWKS URL or a local
 * key file (exactly one must be set).
 *
 * @throws ConfigError when neither or an unreadable file is configured.
 */
export function createKeySource(auth: AuthSettings): KeySource {
  if (auth.jwksUrl !== "") {
    return createRemoteKeySource(new URL(auth.jwksUrl), {
      cooldownMs: auth.jwksCooldownSeconds * 1000,
      cacheMaxAgeMs: auth.jwksCacheMaxAgeSeconds * 1000,
      timeoutMs: auth.jwksTimeoutMs,
    });
  }
  if (auth.publicKeyFile !== "") return createFileKeySource(auth.publicKeyFile);
  throw new ConfigError(
    "gateway.auth: set jwksUrl (env LAKEHOUSE_GATEWAY_AUTH_JWKS_URL) or publicKeyFile (env LAKEHOUSE_GATEWAY_AUTH_PUBLIC_KEY_FILE); npm start sets publicKeyFile to the key it creates",
  );
}

/**
 * Keys from a JWKS endpoint, through jose's cache: keys are fetched once and
 * reused for `cacheMaxAgeMs`; a token naming an unknown `kid` triggers one
 * refetch at most per `cooldownMs`, so a signing-key rotation is picked up
 * without a restart and a flood of made-up `kid`s cannot hammer the issuer.
 * When a fetch fails, keys fetched earlier keep verifying tokens they match;
 * a token no cached key matches then fails as unavailable (its key may be
 * new), not as forged.
 */
export function createRemoteKeySource(
  url: URL,
  options: { cooldownMs: number; cacheMaxAgeMs: number; timeoutMs: number },
): KeySource {
  const remote = createRemoteJWKSet(url, {
    cooldownDuration: options.cooldownMs,
    cacheMaxAge: options.cacheMaxAgeMs,
    timeoutDuration: options.timeoutMs,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (isTokenFault(error)) throw error;
      const cached = remote.jwks();
      if (cached !== undefined) {
        try {
          return await createLocalJWKSet(cached)(header, token);
        } catch (lookup) {
          if (!(lookup instanceof errors.JWKSNoMatchingKey)) throw lookup;
        }
      }
      throw new KeySetUnavailableError(`JWKS ${url.href} could not be fetched`, { cause: error });
    }
  };
}

/**
 * What a key lookup refuses because of the token itself (no key with its
 * `kid`, several candidates, an `alg` no key supports), as opposed to a
 * failure to fetch the keys.
 */
function isTokenFault(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  );
}

/**
 * Keys from a file read once at start: a PEM public key (SPKI), one JWK, or
 * a JWK Set. A JWK Set selects by `kid` like a JWKS endpoint.
 *
 * @throws ConfigError when the file cannot be read or holds no public key.
 */
export function createFileKeySource(file: string): KeySource {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(
      `gateway.auth.publicKeyFile: cannot read ${file}: ${(error as Error).message}`,
    );
  }
  if (text.includes("-----BEGIN")) {
    const key = publicKeyFromPem(text, file);
    return async () => key;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`gateway.auth.publicKeyFile: ${file} is neither PEM nor JSON`);
  }
  const set: JSONWebKeySet =
    typeof parsed === "object" && parsed !== null && "keys" in parsed
      ? (parsed as JSONWebKeySet)
      : { keys: [parsed as JSONWebKeySet["keys"][number]] };
  if (set.keys.some((key) => "d" in key || key.kty === "oct")) {
    throw new ConfigError(
      `gateway.auth.publicKeyFile: ${file} holds a private or secret key; give the gateway public keys only`,
    );
  }
  try {
    return createLocalJWKSet(set);
  } catch (error) {
    throw new ConfigError(`gateway.auth.publicKeyFile: ${file}: ${(error as Error).message}`);
  }
}

function publicKeyFromPem(pem: string, file: string): KeyObject {
  if (pem.includes("PRIVATE KEY")) {
    throw new ConfigError(
      `gateway.auth.publicKeyFile: ${file} holds a private key; give the gateway the public key only`,
    );
  }
  try {
    return createPublicKey(pem);
  } catch (error) {
    throw new ConfigError(`gateway.auth.publicKeyFile: ${file}: ${(error as Error).message}`);
  }
}
