import { Code, ConnectError } from "@connectrpc/connect";
import { type Attributes, type Span, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";

/**
 * The tracer every lakehouse span comes from. Looked up per use, not cached:
 * a tracer taken before an SDK registers (or after one shut down) would keep
 * exporting nowhere.
 */
export function lakehouseTracer(): Tracer {
  return trace.getTracer("lakehouse");
}

/**
 * Marks a span failed: ERROR status with the error's message and its name
 * (or Connect code) as `error.type`. Only the message: metadata and causes
 * may carry values that do not belong in a trace.
 */
export function recordFailure(span: Span, error: unknown): void {
  const type =
    error instanceof ConnectError
      ? (Code[error.code] ?? "Unknown")
      : error instanceof Error
        ? error.name
        : "unknown";
  span.setAttribute("error.type", type);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message:
      error instanceof ConnectError
        ? error.rawMessage
        : error instanceof Error
          ? error.message
          : String(error),
  });
}

/**
 * Runs `work` inside a new active span that ends when `work` settles,
 * failed when it throws. For the steps of a call that are worth seeing in a
 * trace (a DuckDB statement, a conversion, a backend write); cheap when no
 * SDK is running.
 */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return lakehouseTracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
