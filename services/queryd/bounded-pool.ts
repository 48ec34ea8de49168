import { Code, ConnectError } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/** One item borrowed from a {@link BoundedPool}; release it exactly once (later calls do nothing). */
export interface PoolLease<T> {
  readonly value: T;
  release(): void;
}

/**
 * A fixed set of items lent out one caller at a time, with a bounded queue of
 * waiting callers, so load beyond the queue is refused at once instead of
 * piling up memory and latency.
 */
export interface BoundedPool<T> {
  /**
   * Borrows an item, waiting in line when all are lent.
   *
   * @throws RESOURCE_EXHAUSTED (TOO_MANY_QUERIES) when the queue is full; the
   * signal's reason when it aborts first.
   */
  acquire(signal?: AbortSignal): Promise<PoolLease<T>>;
  /** Items lent out now. */
  busy(): number;
  /** Callers waiting now. */
  waiting(): number;
}

interface Waiter<T> {
  resolve(lease: PoolLease<T>): void;
}

/** Creates a pool over `items` that lets at most `maxWaiting` callers wait. */
export function createBoundedPool<T>(items: readonly T[], maxWaiting: number): BoundedPool<T> {
  const idle = [...items];
  const waiters: Waiter<T>[] = [];
  const lend = (value: T): PoolLease<T> => {
    let released = false;
    return {
      value,
      release() {
        if (released) return;
        released = true;
        const next = waiters.shift();
        if (next) next.resolve(lend(value));
        else idle.push(value);
      },
    };
  };
  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(ConnectError.from(signal.reason));
      const value = idle.pop();
      if (value !== undefined) return Promise.resolve(lend(value));
      if (waiters.length >= maxWaiting) {
        return Promise.reject(
          serviceError(
            Code.ResourceExhausted,
            "TOO_MANY_QUERIES",
            `too many queries: ${items.length} running and ${maxWaiting} waiting`,
          ),
        );
      }
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          const index = waiters.indexOf(waiter);
          if (index >= 0) waiters.splice(index, 1);
          reject(ConnectError.from(signal?.reason));
        };
        const waiter: Waiter<T> = {
          resolve(lease) {
            signal?.removeEventListener("abort", onAbort);
            resolve(lease);
          },
        };
        waiters.push(waiter);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    busy: () => items.length - idle.length,
    waiting: () => waiters.length,
  };
}
