import { z } from "zod";

/**
 * The `launcher` section of the config file: settings of `npm start` itself,
 * not of any one service. `LAKEHOUSE_LAUNCHER_DATA_DIRECTORY` overrides the
 * data directory.
 */
export const launcherConfigSchema = z.object({
  /**
   * Where `npm start` keeps one installation: the local signing key pair and
   * the internal secret (under `keys/`), and every service directory left at
   * its default (`storage/`, `catalog-work/`, `query-cache/`, ...), so another
   * data directory is another system sharing nothing with this one.
   */
  dataDirectory: z.string().min(1).default(".data"),
  /** Lifetime of the admin token printed at start, in seconds. */
  adminTokenTtlSeconds: z.number().int().min(60).max(86_400).default(3600),
});

/** Validated `launcher` settings. */
export type LauncherConfig = z.output<typeof launcherConfigSchema>;
