import { z } from "zod";
import { internalAuthSettings } from "../kit/identity/internal-auth.js";
import { serverSettings } from "../kit/server.js";
import { DEFAULT_ORPHAN_GRACE_MS } from "./unreferenced-files.js";

/**
 * The `catalogd` section of the config file; every key can also be set by
 * `LAKEHOUSE_CATALOGD_<KEY>` (e.g. `LAKEHOUSE_CATALOGD_STORAGE_URL`).
 */
export const catalogdConfigSchema = z.object({
  ...serverSettings("127.0.0.1:7102"),
  ...internalAuthSettings(),
  /** Where storaged listens; the catalog keeps all its state there. */
  storageUrl: z.url().default("http://127.0.0.1:7101"),
  /** Scratch space for footers being read and files being converted; emptied at start. */
  workDirectory: z.string().min(1).default(".data/catalog-work"),
  /** Threads of the internal DuckDB that reads footers and converts uploads. */
  threads: z.number().int().min(1).max(64).default(2),
  /** Memory limit of that DuckDB, in DuckDB's notation. */
  memoryLimit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, "expected a size such as 512MB or 2GB")
    .default("1GB"),
  /**
   * How old a file under a dataset's data prefix that no snapshot references must be
   * before ExpireSnapshots deletes it. Ingest and WriteQueryResult upload before they
   * commit, so this must outlast the slowest of them.
   */
  orphanGraceMs: z.number().int().min(0).default(DEFAULT_ORPHAN_GRACE_MS),
});

/** Validated `catalogd` settings. */
export type CatalogdConfig = z.output<typeof catalogdConfigSchema>;
