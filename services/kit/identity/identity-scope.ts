import { AsyncLocalStorage } from "node:async_hooks";
import type { Interceptor, StreamResponse, UnaryResponse } from "@connectrpc/connect";
import { type CallerIdentity, callerIdentityKey } from "./caller-identity.js";

/**
 * The identity of the call being served, for code far from the handler: a
 * catalogd storage read deep in the manifest store, a queryd file fetch. The
 * internal credential interceptor reads it to carry the caller onward, so no
 * function between the handler and the outgoing call has to pass it along.
 */
const scope = new AsyncLocalStorage<CallerIdentity>();

/** The identity of the call this code runs for, if any. */
export function currentIdentity(): CallerIdentity | undefined {
  return scope.getStore();
}

type AnyRequest = Parameters<Parameters<Interceptor>[0]>[0];

/**
 * Serves a call as `identity`: sets it on the call's context values (for
 * handlers) and runs the handler in its scope (for outgoing peer calls).
 * A streaming answer is produced lazily, after the interceptor has returned,
 * so each step of its iterator is run in the scope too.
 */
export async function serveAs(
  identity: CallerIdentity,
  request: AnyRequest,
  next: (request: AnyRequest) => Promise<UnaryResponse | StreamResponse>,
): Promise<UnaryResponse | StreamResponse> {
  request.contextValues.set(callerIdentityKey, identity);
  const response = await scope.run(identity, () => next(request));
  if (!response.stream) return response;
  return { ...response, message: inScope(identity, response.message) };
}

function inScope<T>(identity: CallerIdentity, source: AsyncIterable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = scope.run(identity, () => source[Symbol.asyncIterator]());
      return {
        next: (value?: unknown) => scope.run(identity, () => iterator.next(value)),
        return: (value?: unknown) =>
          scope.run(identity, () =>
            iterator.return
              ? iterator.return(value)
              : Promise.resolve({ done: true as const, value: value as T }),
          ),
        throw: (error?: unknown) =>
          scope.run(identity, () =>
            iterator.throw ? iterator.throw(error) : Promise.reject(error),
          ),
      };
    },
  };
}
