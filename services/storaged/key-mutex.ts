/**
 * A set of async mutexes, one per key, created on demand and dropped when idle.
 * Conditional writes check-then-publish; holding the key's lock across both
 * makes them exact within one process.
 */
export interface KeyMutex {
  /** Runs `task` while holding the lock of `key`, in arrival order. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

/** Creates an empty {@link KeyMutex}. */
export function createKeyMutex(): KeyMutex {
  const tails = new Map<string, Promise<void>>();
  return {
    async run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const current = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tail = previous.then(() => current);
      tails.set(key, tail);
      await previous;
      try {
        return await task();
      } finally {
        release();
        // Only the last waiter removes the entry, so the map never grows unbounded.
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
  };
}
