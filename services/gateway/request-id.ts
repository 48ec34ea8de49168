import { randomUUID } from "node:crypto";
import { ConnectError, type Interceptor } from "@connectrpc/connect";

/** The header that names one client request across every service it reaches. */
export const requestIdHeader = "X-Request-Id";

/** Ids a caller may choose: short and free of characters that could forge log lines. */
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every call a request id: the caller's `X-Request-Id` when it is
 * acceptable, a fresh UUID otherwise. The id is set on the request headers
 * (so it is forwarded to the internal service) and returned in the response
 * headers, or in an error's metadata, so a caller can quote it in a report.
 */
export function createRequestIdInterceptor(): Interceptor {
  return (next) => async (request) => {
    const given = request.header.get(requestIdHeader);
    const id = given !== null && acceptableRequestId.test(given) ? given : randomUUID();
    request.header.set(requestIdHeader, id);
    try {
      const response = await next(request);
      response.header.set(requestIdHeader, id);
      return response;
    } catch (error) {
      if (error instanceof ConnectError) error.metadata.set(requestIdHeader, id);
      throw error;
    }
  };
}
