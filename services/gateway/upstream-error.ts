import { Code, ConnectError } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";
import { copyResponseHeaders } from "./forwarded-headers.js";

/** Codes connect-node's client raises on its own side when the hop to a service breaks. */
const brokenHopCodes = new Set([Code.Unavailable, Code.Aborted, Code.Canceled]);

/**
 * Decides what a client sees when a forwarded call fails; the one place
 * where errors of the internal hop (connect-node's gRPC client) map to codes.
 *
 * - The internal service answered with an error (its status arrived in a
 *   header or trailer): passed on unchanged — code, message, details and its
 *   end-to-end metadata.
 * - The client's own call ended (`clientSignal` aborted: it cancelled, its
 *   deadline passed, or the gateway is cutting calls while draining): the
 *   error stands; the client hears the outcome of its own call.
 * - Otherwise the hop broke: the service could not be reached (connect-node
 *   says UNAVAILABLE, with the internal address in the message), its
 *   connection was reset (ABORTED) or it cut the stream (CANCELED), or a proxy
 *   in between answered HTTP 502/503/504. The client gets UNAVAILABLE with
 *   reason `UPSTREAM_UNAVAILABLE` naming the service, never its address.
 * - Anything else raised on this side (a message over the size limit) passes.
 */
export function forwardedError(
  error: unknown,
  upstream: string,
  clientSignal: AbortSignal,
): unknown {
  if (!(error instanceof ConnectError)) return error;
  if (error.metadata.has("grpc-status")) {
    const metadata = new Headers();
    copyResponseHeaders(error.metadata, metadata);
    const passed = new ConnectError(error.rawMessage, error.code, metadata, undefined, error);
    passed.details = error.details;
    return passed;
  }
  if (!clientSignal.aborted && brokenHopCodes.has(error.code)) {
    const unavailable = serviceError(
      Code.Unavailable,
      "UPSTREAM_UNAVAILABLE",
      `${upstream} is unavailable, try again later`,
      { service: upstream },
    );
    // Kept for server-side diagnosis; the message (with the address) never reaches the client.
    unavailable.cause = error;
    return unavailable;
  }
  return error;
}
