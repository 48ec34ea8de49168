import type { Interceptor } from "@connectrpc/connect";
import { createRequestIdInterceptor } from "./request-id.js";

/**
 * The gateway's own interceptors, outermost first, in one place so the order
 * is visible and deliberate: the request id comes first so every later layer
 * (tracing, authentication and scope checks belong after it) can log it. They
 * run after the kit's call tracking and logging.
 */
export function createGatewayInterceptors(): Interceptor[] {
  return [createRequestIdInterceptor()];
}
