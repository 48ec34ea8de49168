import { cors } from "@connectrpc/connect";
import type { DualHandler } from "../kit/protocol-listener.js";
import { createOriginMatcher } from "./allowed-origins.js";
import { requestIdHeader } from "./request-id.js";

/**
 * Request headers browsers may send besides the protocols' own: the bearer
 * token, W3C trace context and a caller-chosen request id.
 */
const applicationRequestHeaders = ["Authorization", "Traceparent", "Tracestate", requestIdHeader];

/** Response headers scripts may read besides the protocols' own. */
const applicationResponseHeaders = [requestIdHeader];

/** How long browsers may cache a preflight answer, in seconds (Chromium's ceiling). */
const preflightMaxAgeSeconds = 7200;

/** Options of {@link createCorsLayer}. */
export interface CorsOptions {
  /** Entries as in `gateway.cors.allowedOrigins`. */
  allowedOrigins: readonly string[];
}

/**
 * Lets browser pages from allowed origins call the gateway with Connect and
 * gRPC-Web. Preflight requests (OPTIONS with `Access-Control-Request-Method`)
 * are answered here, 204 for an allowed origin and 403 otherwise; actual
 * requests from an allowed origin get `Access-Control-Allow-Origin` and the
 * exposed headers (gRPC-Web reads its status from them). Requests from other
 * origins are served without CORS headers, so the browser withholds the answer.
 * The origin is echoed rather than answered with `*`, and credentials are
 * never allowed: authentication travels in the `Authorization` header.
 */
export function createCorsLayer(options: CorsOptions): (handler: DualHandler) => DualHandler {
  const isAllowed = createOriginMatcher(options.allowedOrigins);
  const allowMethods = cors.allowedMethods.join(", ");
  const allowHeaders = [...cors.allowedHeaders, ...applicationRequestHeaders].join(", ");
  const exposeHeaders = [...cors.exposedHeaders, ...applicationResponseHeaders].join(", ");
  return (handler) => (request, response) => {
    const origin = request.headers.origin;
    if (origin === undefined) {
      handler(request, response);
      return;
    }
    const allowed = isAllowed(origin);
    const preflight =
      request.method === "OPTIONS" &&
      request.headers["access-control-request-method"] !== undefined;
    response.setHeader("Vary", "Origin");
    if (preflight) {
      response.statusCode = allowed ? 204 : 403;
      if (allowed) {
        response.setHeader("Access-Control-Allow-Origin", origin);
        response.setHeader("Access-Control-Allow-Methods", allowMethods);
        response.setHeader("Access-Control-Allow-Headers", allowHeaders);
        response.setHeader("Access-Control-Max-Age", String(preflightMaxAgeSeconds));
      }
      response.end();
      return;
    }
    if (allowed) {
      response.setHeader("Access-Control-Allow-Origin", origin);
      response.setHeader("Access-Control-Expose-Headers", exposeHeaders);
    }
    handler(request, response);
  };
}
