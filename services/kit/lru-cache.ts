/** A size-bounded map that forgets the least recently used entries first. */
export interface LruCache<K, V> {
  get(key: K): V | undefined;
  /**
   * Adds or replaces an entry that counts `weight` (1 unless given) against
   * the capacity; older entries go until the rest fits.
   */
  set(key: K, value: V, weight?: number): void;
  delete(key: K): void;
  /** Removes every entry whose key passes `test`. */
  deleteWhere(test: (key: K) => boolean): void;
}

/**
 * Creates an LRU cache holding entries whose weights add up to at most
 * `capacity`: a count of entries by default, or e.g. bytes when each `set`
 * gives the entry's size. An entry heavier than the whole capacity is not kept.
 */
export function createLruCache<K, V>(capacity: number): LruCache<K, V> {
  const entries = new Map<K, { value: V; weight: number }>();
  let total = 0;
  const remove = (key: K) => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    total -= entry.weight;
  };
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      // Map keeps insertion order: re-inserting marks the entry as most recent.
      entries.delete(key);
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, weight = 1) {
      remove(key);
      if (weight > capacity) return;
      entries.set(key, { value, weight });
      total += weight;
      for (const oldest of entries.keys()) {
        if (total <= capacity) break;
        remove(oldest);
      }
    },
    delete: remove,
    deleteWhere(test) {
      for (const key of [...entries.keys()]) if (test(key)) remove(key);
    },
  };
}
