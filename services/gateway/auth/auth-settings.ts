import { z } from "zod";

/**
 * Signature algorithms a gateway may pin: asymmetric only, so holding the
 * verification key never lets anyone mint tokens (and an HS256 token made
 * with a public key as its secret is refused by construction).
 */
export const asymmetricAlgorithms = [
  "EdDSA",
  "Ed25519",
  "ES256",
  "ES384",
  "ES512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
] as const;

/**
 * The `gateway.auth` settings: where the token keys come from, what a token
 * must say, and bounds on the work spent on one. Exactly one of `jwksUrl`
 * and `publicKeyFile` must be set when the gateway starts (`npm start` sets
 * `publicKeyFile` to the key pair it creates); they stay empty here so the
 * documented defaults are valid on their own.
 */
export function authSettings() {
  return {
    auth: z
      .object({
        /** An https (or loopback http) JWKS endpoint; keys are cached and refetched on an unknown `kid`. */
        jwksUrl: z
          .union([z.literal(""), z.url({ protocol: /^https?$/, error: "expected an http(s) URL" })])
          .default(""),
        /** A PEM public key (SPKI), a JWK, or a JWK Set (JSON) file. */
        publicKeyFile: z.string().default(""),
        /** The required `iss`. */
        issuer: z.string().min(1).default("lakehouse-local"),
        /** The required `aud` (the token's `aud` must contain it). */
        audience: z.string().min(1).default("lakehouse"),
        /** Accepted `alg` values; anything else is refused before the signature is checked. */
        algorithms: z
          .array(z.enum(asymmetricAlgorithms))
          .min(1)
          .default(["EdDSA", "ES256", "RS256"]),
        /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. */
        clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
        /** Longest token read, in bytes; a longer `authorization` value is refused unread. */
        maxTokenBytes: z
          .number()
          .int()
          .min(512)
          .max(64 * 1024)
          .default(8 * 1024),
        /** Shortest time between two JWKS fetches caused by unknown `kid`s. */
        jwksCooldownSeconds: z.number().min(0).max(3600).default(30),
        /** How long fetched keys are used before the JWKS is fetched again. */
        jwksCacheMaxAgeSeconds: z.number().min(1).max(86_400).default(600),
        /** How long one JWKS fetch may take. */
        jwksTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
        /** The claim holding the scopes (space-separated string or array). */
        scopesClaim: z.string().min(1).default("scope"),
        /** The claim holding dataset grant patterns (array or space-separated string). */
        datasetsClaim: z.string().min(1).default("datasets"),
      })
      .prefault({})
      .superRefine((auth, context) => {
        if (auth.jwksUrl !== "" && auth.publicKeyFile !== "") {
          context.addIssue({
            code: "custom",
            path: ["publicKeyFile"],
            message: "set auth.jwksUrl or auth.publicKeyFile, not both",
          });
        }
      }),
  };
}

/** The values of {@link authSettings}. */
export type AuthSettings = z.output<ReturnType<typeof authSettings>["auth"]>;
