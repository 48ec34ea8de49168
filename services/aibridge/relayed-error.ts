import { ConnectError } from "@connectrpc/connect";

/**
 * An error from a call aibridge made to another service, fit to answer its own
 * caller with: same code, message and details, but without the other call's
 * response headers and trailers (its content-type and grpc-status among them),
 * which would otherwise be written into this call's response and break it.
 */
export function relayedError(error: unknown): unknown {
  if (!(error instanceof ConnectError) || [...error.metadata.keys()].length === 0) return error;
  const relayed = new ConnectError(error.rawMessage, error.code, undefined, undefined, error);
  relayed.details = error.details;
  return relayed;
}

/** Runs a handler's work, relaying the errors of the calls it made. */
export async function relaying<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw relayedError(error);
  }
}
