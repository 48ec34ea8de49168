import type { Interceptor } from "@connectrpc/connect";
import { createAuthenticationInterceptor, createScopeInterceptor } from "./auth/authentication.js";
import type { TokenVerifier } from "./auth/token-verifier.js";
import { createRequestIdInterceptor } from "./request-id.js";
import { createUpstreamHealthInterceptor, type Upstream } from "./upstream-health.js";

/**
 * The gateway's own interceptors, outermost first, in one place so the order
 * is visible and deliberate: the request id comes first so every later layer
 * can log it (a refused call gets one too); then authentication (who calls),
 * then the scope check (may they call this RPC); last, health checks of a
 * public service get the answer of the service behind it (health needs no
 * token, so the two before let it through). They run after the kit's call
 * tracking, tracing and logging.
 */
export function createGatewayInterceptors(options: {
  auth: { verifier: TokenVerifier; maxTokenBytes: number };
  upstreams: readonly Upstream[];
}): Interceptor[] {
  return [
    createRequestIdInterceptor(),
    createAuthenticationInterceptor(options.auth),
    createScopeInterceptor(),
    createUpstreamHealthInterceptor(options.upstreams),
  ];
}
