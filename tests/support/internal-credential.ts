import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { createInternalAuth } from "../../services/kit/identity/internal-auth.js";
import {
  ensureInternalSecret,
  readInternalSecret,
} from "../../services/kit/identity/internal-secret.js";
import { createInternalTokenSigner } from "../../services/kit/identity/internal-token.js";

/** The internal credential for tests that call a service directly, as a peer would. */
export interface InternalCredential {
  /** The shared secret's file: pass it as `LAKEHOUSE_<SERVICE>_INTERNAL_AUTH_SECRET_FILE`. */
  readonly secretFile: string;
  /** Adds an internal token to connect calls. */
  readonly interceptor: Interceptor;
  /** `Bearer <internal token>`, for grpc-js metadata and curl. */
  authorization(): Promise<string>;
}

/** Creates a secret in a temp folder and signs as the peer service `test`, for every dataset. */
export async function createInternalCredential(): Promise<InternalCredential> {
  const secretFile = join(mkdtempSync(join(tmpdir(), "internal-secret-")), "secret");
  await ensureInternalSecret(secretFile);
  const secret = await readInternalSecret(secretFile, "test");
  const signer = createInternalTokenSigner({ secret, service: "test", ttlSeconds: 600 });
  const identity = { subject: "test", scopes: [], datasets: ["*"] };
  return {
    secretFile,
    interceptor: createInternalAuth({ service: "test", secret }).clientInterceptor,
    authorization: async () => `Bearer ${await signer.sign(identity)}`,
  };
}
