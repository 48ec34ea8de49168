import { createLruCache } from "../kit/lru-cache.js";

/** A dataset a statement reads, as written in it: `name` or `name AT (VERSION => n)`. */
export interface DatasetMention {
  readonly name: string;
  /** The pinned version, or undefined for the latest. */
  readonly version: bigint | undefined;
}

/** What is remembered of one statement text. */
export interface StatementEntry {
  /** Every dataset the statement reads, in order of first mention; the statement passed every refusal check. */
  readonly datasets: readonly DatasetMention[];
  /** The statement rewritten for the last set of bound files it ran over. */
  rendering?: { readonly boundFiles: string; readonly sql: string };
}

/** Statements longer than this are parsed anew each time, so the cache stays small. */
const MAX_CACHED_SQL_CHARS = 16 * 1024;

/** Statement texts remembered; together at most a few MiB. */
const STATEMENT_CACHE_ENTRIES = 256;

/**
 * What parsing and rewriting a statement produced, by its exact text. Both
 * are pure functions of their inputs (the text; the text and the files bound
 * to each dataset), so a repeated statement skips DuckDB's parser and
 * renderer entirely: the refusal checks it passed once hold for the same
 * text, and grants are still checked per call on `datasets`.
 */
export interface StatementCache {
  get(sql: string): StatementEntry | undefined;
  /** Remembers an entry; statements over {@link MAX_CACHED_SQL_CHARS} are not kept. */
  set(sql: string, entry: StatementEntry): void;
}

/** Creates an empty, bounded statement cache. */
export function createStatementCache(): StatementCache {
  const entries = createLruCache<string, StatementEntry>(STATEMENT_CACHE_ENTRIES);
  return {
    get: (sql) => entries.get(sql),
    set(sql, entry) {
      if (sql.length <= MAX_CACHED_SQL_CHARS) entries.set(sql, entry);
    },
  };
}
