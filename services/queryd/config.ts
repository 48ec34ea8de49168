import { z } from "zod";
import { internalAuthSettings } from "../kit/identity/internal-auth.js";
import { serverSettings } from "../kit/server.js";

const DUCKDB_SIZE = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

/**
 * The `queryd` section of the config file. Every key can also be set by
 * `LAKEHOUSE_QUERYD_<KEY>` (e.g. `LAKEHOUSE_QUERYD_MEMORY_LIMIT=4GB`).
 */
export const querydConfigSchema = z.object({
  ...serverSettings("127.0.0.1:7103"),
  ...internalAuthSettings(),
  /** catalogd's base URL (gRPC over HTTP/2). */
  catalogUrl: z.url().default("http://127.0.0.1:7102"),
  /** storaged's base URL (gRPC over HTTP/2). */
  storageUrl: z.url().default("http://127.0.0.1:7101"),
  /** The local content-addressed copy of data files; DuckDB's only allowed directory. */
  cacheDirectory: z.string().min(1).default(".data/query-cache"),
  /** Bytes the cache may hold before least recently used files are evicted. */
  cacheMaxBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(10 * 1024 ** 3),
  /**
   * Keep a copy in DuckDB's own format of each data file queries read more
   * than once (`<sha256>.duckdb` beside the cached file), so warm scans skip
   * Parquet decoding. Copies take only room `cacheMaxBytes` has to spare, and
   * are given up before any file is evicted.
   */
  columnarCopies: z.boolean().default(true),
  /** DuckDB `memory_limit`. */
  memoryLimit: z.string().regex(DUCKDB_SIZE, "expected a size such as 2GB").default("2GB"),
  /** DuckDB worker threads. */
  threads: z.number().int().min(1).max(256).default(2),
  /** Where DuckDB spills to disk. */
  tempDirectory: z.string().min(1).default(".data/query-tmp"),
  /** DuckDB `max_temp_directory_size`. */
  maxTempDirectorySize: z
    .string()
    .regex(DUCKDB_SIZE, "expected a size such as 10GB")
    .default("10GB"),
  /** Statements that run at once (DuckDB connections). */
  poolSize: z.number().int().min(1).max(256).default(4),
  /** Statements that may wait for a connection; beyond, RESOURCE_EXHAUSTED. */
  maxQueuedQueries: z.number().int().min(0).max(100_000).default(64),
  /** Rows one result may have; results stream, so this guards clients more than the server. */
  maxResultRows: z.number().int().min(1).default(10_000_000),
  /** Encoded bytes one result may have. */
  maxResultBytes: z
    .number()
    .int()
    .min(1024)
    .default(2 * 1024 ** 3),
  /** Rows per result batch message. */
  batchRows: z.number().int().min(1).max(1_000_000).default(65_536),
  /**
   * How long a result stream may wait for its client to read before the
   * query is stopped and its connection freed (ABORTED, READER_STALLED); 0 never.
   */
  stalledReaderTimeoutMs: z.number().int().min(0).default(60_000),
});

/** Validated `queryd` settings. */
export type QuerydConfig = z.output<typeof querydConfigSchema>;
