import { access, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from "jose";
import { ensureInternalSecret } from "./internal-secret.js";

/** The algorithm of the local signing key: Ed25519, small and fast, no parameters to get wrong. */
export const localKeyAlgorithm = "EdDSA";

/** Where the embedded system keeps its credentials, inside its data directory. */
export interface LocalKeyFiles {
  /** The private signing key (JWK, owner-only): whoever holds it can mint any token. */
  readonly privateKeyFile: string;
  /** Its public half as a JWK Set: what the gateway verifies tokens with. */
  readonly publicKeyFile: string;
  /** The secret shared by the gateway and the services for internal tokens (owner-only). */
  readonly internalSecretFile: string;
}

/** The credential files of a data directory; one layout for launcher, CLI and tests. */
export function localKeyFiles(dataDirectory: string): LocalKeyFiles {
  const keys = join(dataDirectory, "keys");
  return {
    privateKeyFile: join(keys, "signing-key.jwk"),
    publicKeyFile: join(keys, "signing-keys.jwks.json"),
    internalSecretFile: join(keys, "internal-secret"),
  };
}

/**
 * Creates the local signing key pair and the internal secret unless they
 * exist, so a first `npm start` is secure with no setup; later starts reuse
 * them, so tokens minted earlier stay valid. Private files are 0600 in a
 * 0700 folder. Resolves with the files and whether the key was created now.
 */
export async function ensureLocalKeys(
  dataDirectory: string,
): Promise<LocalKeyFiles & { created: boolean }> {
  const files = localKeyFiles(dataDirectory);
  await mkdir(join(dataDirectory, "keys"), { recursive: true, mode: 0o700 });
  await ensureInternalSecret(files.internalSecretFile);
  const created = await createPrivateKey(files.privateKeyFile);
  if (created || !(await exists(files.publicKeyFile))) {
    const { d: _private, ...publicJwk } = JSON.parse(
      await readFile(files.privateKeyFile, "utf8"),
    ) as JWK;
    await writeFile(files.publicKeyFile, `${JSON.stringify({ keys: [publicJwk] }, null, 2)}\n`);
    await chmod(files.publicKeyFile, 0o644);
  }
  return { ...files, created };
}

/** Writes a new Ed25519 private JWK (with `kid`, `alg`, `use`) unless the file exists. */
async function createPrivateKey(file: string): Promise<boolean> {
  if (await exists(file)) return false;
  const { privateKey, publicKey } = await generateKeyPair(localKeyAlgorithm, {
    crv: "Ed25519",
    extractable: true,
  });
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: localKeyAlgorithm, use: "sig" };
  try {
    await writeFile(file, `${JSON.stringify(jwk)}\n`, { mode: 0o600, flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** What a locally minted token says. */
export interface TokenClaims {
  readonly subject: string;
  readonly scopes: readonly string[];
  /** Dataset grant patterns. */
  readonly datasets: readonly string[];
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  /** Claim names, as the gateway's `auth.scopesClaim` / `auth.datasetsClaim`. */
  readonly scopesClaim?: string;
  readonly datasetsClaim?: string;
}

/**
 * Mints a token with the local private key, for `lakehouse token`, the
 * launcher's admin token and tests: EdDSA, the key's `kid`, `iat`/`exp`.
 */
export async function mintLocalToken(privateKeyFile: string, claims: TokenClaims): Promise<string> {
  const jwk = JSON.parse(await readFile(privateKeyFile, "utf8")) as JWK;
  const key = await importJWK(jwk, localKeyAlgorithm);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    [claims.scopesClaim ?? "scope"]: claims.scopes.join(" "),
    [claims.datasetsClaim ?? "datasets"]: [...claims.datasets],
  })
    .setProtectedHeader({
      alg: localKeyAlgorithm,
      typ: "JWT",
      ...(jwk.kid ? { kid: jwk.kid } : {}),
    })
    .setSubject(claims.subject)
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + claims.ttlSeconds)
    .sign(key);
}
