import type { Interceptor } from "@connectrpc/connect";
import { readBearerToken } from "../../kit/identity/bearer-token.js";
import { requireIdentity } from "../../kit/identity/caller-identity.js";
import { serveAs } from "../../kit/identity/identity-scope.js";
import { isOpenService } from "../../kit/identity/open-services.js";
import { requireScopes } from "./scope-table.js";
import type { TokenVerifier } from "./token-verifier.js";

/**
 * The gateway's authentication: every call but health and reflection needs
 * one `authorization: Bearer <jwt>` that the verifier accepts. The call is
 * then served as the token's caller (context value for handlers, scope for
 * the forwarded call, which carries the caller on in its internal token).
 */
export function createAuthenticationInterceptor(options: {
  verifier: TokenVerifier;
  maxTokenBytes: number;
}): Interceptor {
  return (next) => async (request) => {
    if (isOpenService(request.service.typeName)) return next(request);
    const token = readBearerToken(request, options.maxTokenBytes);
    const identity = await options.verifier.verify(token);
    return serveAs(identity, request, next);
  };
}

/**
 * The gateway's authorization: the caller must hold the scopes the scope
 * table lists for the RPC; RPCs the table does not list are refused. Runs
 * after {@link createAuthenticationInterceptor}.
 */
export function createScopeInterceptor(): Interceptor {
  return (next) => async (request) => {
    if (isOpenService(request.service.typeName)) return next(request);
    const identity = requireIdentity(request.contextValues);
    requireScopes(identity, request.service.typeName, request.method.name);
    return next(request);
  };
}
