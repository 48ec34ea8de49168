import { Code, ConnectError } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/** How a call to a model server went wrong, before it is given an RPC code. */
export type ProviderFailureKind =
  /** No connection, a refused or dropped connection. */
  | "unreachable"
  /** The provider took longer than its timeout. */
  | "timeout"
  /** The server answered with an HTTP error status. */
  | "status"
  /** The answer exceeded the size cap and was cut off. */
  | "oversized"
  /** The answer was not the protocol's JSON, or the stream reported an error. */
  | "malformed";

/**
 * A failed provider call, described in the provider's own terms (HTTP status,
 * the server's error text). {@link providerError} alone turns it into a code.
 */
export class ProviderFailure extends Error {
  override readonly name = "ProviderFailure";
  constructor(
    readonly kind: ProviderFailureKind,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

const MODEL_MISSING = /model.*(not found|does not exist|not exist)|no such model|unknown model/i;

/**
 * The one mapping of model-server failures to RPC codes: unknown model →
 * NOT_FOUND; the server down or dropping the connection → UNAVAILABLE; too
 * slow → DEADLINE_EXCEEDED; the request refused as malformed →
 * INVALID_ARGUMENT; rate limits → RESOURCE_EXHAUSTED; a refused API key →
 * FAILED_PRECONDITION (the deployment's fault, not the caller's). A caller's
 * own cancel or deadline is passed through as connect reports it. The
 * server's message is kept (it never holds the API key) so operators see why.
 */
export function providerError(
  provider: string,
  model: string,
  error: unknown,
  callerSignal?: AbortSignal,
): ConnectError {
  if (error instanceof ConnectError) return error;
  if (callerSignal?.aborted) {
    const reason: unknown = callerSignal.reason;
    return reason instanceof ConnectError
      ? reason
      : new ConnectError("the call was cancelled", Code.Canceled);
  }
  const metadata = { provider, model };
  if (!(error instanceof ProviderFailure)) {
    const text = error instanceof Error ? error.message : String(error);
    return serviceError(
      Code.Unavailable,
      "PROVIDER_UNREACHABLE",
      `provider ${provider} is unreachable: ${text}`,
      metadata,
    );
  }
  const detail = `provider ${provider}: ${error.message}`;
  switch (error.kind) {
    case "unreachable":
      return serviceError(Code.Unavailable, "PROVIDER_UNREACHABLE", detail, metadata);
    case "timeout":
      return serviceError(Code.DeadlineExceeded, "PROVIDER_TIMEOUT", detail, metadata);
    case "oversized":
      return serviceError(Code.ResourceExhausted, "PROVIDER_ANSWER_TOO_LARGE", detail, metadata);
    case "malformed":
      return serviceError(Code.Unavailable, "PROVIDER_BAD_ANSWER", detail, metadata);
    case "status":
      return statusError(error, detail, metadata);
  }
}

function statusError(
  error: ProviderFailure,
  detail: string,
  metadata: Record<string, string>,
): ConnectError {
  const withStatus = { ...metadata, status: String(error.status) };
  if (error.status === 404 || MODEL_MISSING.test(error.message)) {
    return serviceError(Code.NotFound, "MODEL_NOT_FOUND", detail, withStatus);
  }
  if (error.status === 401 || error.status === 403) {
    return serviceError(Code.FailedPrecondition, "PROVIDER_AUTH", detail, withStatus);
  }
  if (error.status === 408 || error.status === 504) {
    return serviceError(Code.DeadlineExceeded, "PROVIDER_TIMEOUT", detail, withStatus);
  }
  if (error.status === 429) {
    return serviceError(Code.ResourceExhausted, "PROVIDER_RATE_LIMITED", detail, withStatus);
  }
  if (error.status === 400 || error.status === 413 || error.status === 422) {
    return serviceError(Code.InvalidArgument, "PROVIDER_REFUSED_INPUT", detail, withStatus);
  }
  return serviceError(Code.Unavailable, "PROVIDER_ERROR", detail, withStatus);
}
