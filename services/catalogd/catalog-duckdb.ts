import { Code, type ConnectError } from "@connectrpc/connect";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { serviceError } from "../kit/errors.js";
import { sqlString } from "../kit/sql-text.js";

/** Settings of catalogd's private DuckDB instance. */
export interface CatalogDuckDBOptions {
  /** The only directory the instance may read or write (catalogd's temp files live there). */
  readonly workDirectory: string;
  /** Worker threads; defaults to 2. */
  readonly threads?: number;
  /** DuckDB memory limit, for example `"1GB"`; DuckDB's default when absent. */
  readonly memoryLimit?: string;
}

/**
 * catalogd's one DuckDB instance. It only reads footers and converts uploads, never
 * runs user SQL, and is locked to the work directory so a crafted object key or
 * file name can never make it touch anything else.
 */
export interface CatalogDuckDB {
  /** Runs `work` on a fresh connection that is closed afterwards, whatever happens. */
  withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  /** Releases the instance; later calls fail. */
  close(): void;
}

/**
 * Opens the instance with extension auto-install/auto-load off (no network here, and
 * a silent download is never wanted), UTC rendering of timestamps (so statistics read
 * the same on every machine), then locks its configuration.
 */
export async function openCatalogDuckDB(options: CatalogDuckDBOptions): Promise<CatalogDuckDB> {
  const config: Record<string, string> = {
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    threads: String(options.threads ?? 2),
  };
  if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
  const instance = await DuckDBInstance.create(":memory:", config);
  const setup = await instance.connect();
  try {
    await setup.run("SET TimeZone = 'UTC'");
    await setup.run(`SET allowed_directories = [${sqlString(options.workDirectory)}]`);
    await setup.run(`SET temp_directory = ${sqlString(`${options.workDirectory}/duckdb-spill`)}`);
    await setup.run("SET enable_external_access = false");
    await setup.run("SET lock_configuration = true");
  } finally {
    setup.closeSync();
  }
  return {
    async withConnection(work) {
      const connection = await instance.connect();
      try {
        return await work(connection);
      } finally {
        connection.closeSync();
      }
    },
    close() {
      instance.closeSync();
    },
  };
}

/**
 * The one mapping of DuckDB errors to service errors. DuckDB runs here only on input
 * that callers supplied, so a failure means that input is unreadable (INVALID_ARGUMENT
 * with `reason`, DuckDB's own message kept for the caller), except for running out of
 * memory (RESOURCE_EXHAUSTED) and interruption (CANCELLED). `localPaths` (the server's
 * copies of the input) are replaced by `<file>` in the message.
 */
export function duckdbError(
  error: unknown,
  reason: string,
  what: string,
  localPaths: readonly string[] = [],
): ConnectError {
  // DuckDB's `LINE n:` excerpt quotes the statement catalogd wrote (cut where it
  // pleases, so paths in it cannot be replaced reliably), not anything the caller sent.
  let message = (error instanceof Error ? error.message : String(error)).split(/\n+LINE \d+:/)[0]!;
  // DuckDB names the files it read; the caller knows them by key, not by the server's paths.
  for (const path of localPaths) message = message.replaceAll(path, "<file>");
  if (message.startsWith("Out of Memory Error")) {
    return serviceError(Code.ResourceExhausted, "MEMORY_LIMIT", `${what}: ${message}`);
  }
  if (message.startsWith("INTERRUPT Error")) {
    return serviceError(Code.Canceled, "INTERRUPTED", `${what}: interrupted`);
  }
  return serviceError(Code.InvalidArgument, reason, `${what}: ${message}`);
}
