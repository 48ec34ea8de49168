import { type Context, context } from "@opentelemetry/api";

/**
 * Wraps a message stream so every step of it runs inside `ctx` and `onEnd`
 * runs exactly once when the stream ends for any reason: its last message,
 * an error (passed to `onEnd`), or the consumer stopping early (the source
 * is closed too). A stream handler's body runs only when its consumer asks
 * for the next message, outside the interceptor's call; running each step
 * in `ctx` keeps the handler's spans and log lines in the call's trace.
 */
export async function* traceStream<T>(
  source: AsyncIterable<T>,
  ctx: Context,
  onEnd: (error?: unknown) => void,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let sourceOpen = true;
  let failure: unknown;
  try {
    for (;;) {
      let step: IteratorResult<T>;
      try {
        step = await context.with(ctx, () => iterator.next());
      } catch (error) {
        sourceOpen = false;
        throw error;
      }
      if (step.done) {
        sourceOpen = false;
        return;
      }
      // A consumer's return() or throw() lands here, with the source still open.
      yield step.value;
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    try {
      if (sourceOpen) await context.with(ctx, async () => iterator.return?.());
    } finally {
      onEnd(failure);
    }
  }
}
