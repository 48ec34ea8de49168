import type { Interceptor } from "@connectrpc/connect";
import { z } from "zod";
import { ConfigError } from "../config.js";
import { readBearerToken } from "./bearer-token.js";
import { type CallerIdentity, callerIdentityKey, callingServiceKey } from "./caller-identity.js";
import { currentIdentity, serveAs } from "./identity-scope.js";
import { readInternalSecret } from "./internal-secret.js";
import { createInternalTokenSigner, createInternalTokenVerifier } from "./internal-token.js";
import { isOpenService } from "./open-services.js";

/** Internal tokens are a few hundred bytes; anything much larger is refused unread. */
const maxInternalTokenBytes = 8 * 1024;

/**
 * The `internalAuth` settings of every service (gateway included): where the
 * shared secret lives and how long an internal token lives. The env override
 * is `LAKEHOUSE_<SERVICE>_INTERNAL_AUTH_SECRET_FILE`.
 */
export function internalAuthSettings() {
  return {
    internalAuth: z
      .object({
        /**
         * The file holding the secret shared by the gateway and the services;
         * required. `npm start` creates one in its data directory.
         */
        secretFile: z.string().default(""),
        /** Lifetime of an internal token, in seconds. */
        tokenTtlSeconds: z.number().int().min(10).max(3600).default(300),
      })
      .prefault({}),
  };
}

/** The values of {@link internalAuthSettings}. */
export type InternalAuthSettings = z.output<
  ReturnType<typeof internalAuthSettings>["internalAuth"]
>;

/** A service's side of the internal credential. */
export interface InternalAuth {
  /**
   * Server interceptor: refuses every call without a valid internal token
   * (health and reflection excepted) and serves the call as the identity the
   * token carries.
   */
  readonly serverInterceptor: Interceptor;
  /**
   * Client interceptor for calls to peers: sends an internal token for the
   * identity of the call being served (or this service's own identity when
   * none), replacing any `authorization` the request held.
   */
  readonly clientInterceptor: Interceptor;
}

/**
 * Reads the shared secret and builds the service's interceptors.
 *
 * @throws ConfigError when `internalAuth.secretFile` is empty or unusable,
 * naming `<service>.internalAuth.secretFile`.
 */
export async function openInternalAuth(
  service: string,
  settings: InternalAuthSettings,
): Promise<InternalAuth> {
  const setting = `${service}.internalAuth.secretFile`;
  if (settings.secretFile === "") {
    throw new ConfigError(
      `${setting}: required: the file holding the secret shared by the gateway and the services (npm start creates one in its data directory)`,
    );
  }
  const secret = await readInternalSecret(settings.secretFile, setting);
  return createInternalAuth({ service, secret, tokenTtlSeconds: settings.tokenTtlSeconds });
}

/** Builds the interceptors from a secret in hand (tests, and {@link openInternalAuth}). */
export function createInternalAuth(options: {
  service: string;
  secret: Uint8Array;
  tokenTtlSeconds?: number;
}): InternalAuth {
  const signer = createInternalTokenSigner({
    secret: options.secret,
    service: options.service,
    ttlSeconds: options.tokenTtlSeconds ?? 300,
  });
  const verifier = createInternalTokenVerifier({ secret: options.secret });
  // Calls a service makes on its own account (none of its callers' work) get
  // its name and no dataset grants.
  const ownIdentity: CallerIdentity = {
    subject: `service:${options.service}`,
    scopes: [],
    datasets: [],
  };
  return {
    serverInterceptor: (next) => async (request) => {
      if (isOpenService(request.service.typeName)) return next(request);
      const token = readBearerToken(request, maxInternalTokenBytes);
      const caller = await verifier.verify(token);
      request.contextValues.set(callingServiceKey, caller.service);
      return serveAs(caller.identity, request, next);
    },
    clientInterceptor: (next) => async (request) => {
      const identity =
        request.contextValues.get(callerIdentityKey) ?? currentIdentity() ?? ownIdentity;
      request.header.set("authorization", `Bearer ${await signer.sign(identity)}`);
      return next(request);
    },
  };
}
