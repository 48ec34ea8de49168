import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { sqlString } from "../kit/sql-text.js";
import { createBoundedPool, type PoolLease } from "./bounded-pool.js";

/** Limits and places of queryd's DuckDB instance. */
export interface DuckDBEngineOptions {
  /** The only directory DuckDB may read or write: the file cache (COPY output goes there too). */
  readonly cacheDirectory: string;
  /** Where DuckDB spills intermediate results larger than memory. */
  readonly tempDirectory: string;
  /** DuckDB `memory_limit`, e.g. "2GB". */
  readonly memoryLimit: string;
  /** DuckDB worker `threads`. */
  readonly threads: number;
  /** DuckDB `max_temp_directory_size`, e.g. "10GB". */
  readonly maxTempDirectorySize: string;
  /** Connections, i.e. statements that run at once. */
  readonly poolSize: number;
  /** Statements that may wait for a connection before more are refused. */
  readonly maxQueued: number;
}

/**
 * The process's one DuckDB instance, locked down so that user SQL can read no
 * file outside the cache, attach nothing, install or load nothing and change
 * no setting, with a bounded pool of connections for running statements.
 */
export interface DuckDBEngine {
  /** The cache directory, absolute, as DuckDB sees it. */
  readonly cacheDirectory: string;
  /**
   * Borrows a connection for one statement.
   *
   * @throws RESOURCE_EXHAUSTED (TOO_MANY_QUERIES) when the wait queue is full.
   */
  acquire(signal?: AbortSignal): Promise<PoolLease<DuckDBConnection>>;
  /**
   * Runs quick work that executes no user statement (parsing, rendering an
   * AST) on a connection kept apart from the pool, one call at a time, so it
   * never waits behind long queries.
   */
  withUtilityConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  /**
   * Runs slow work of the engine's own (making columnar copies) on another
   * connection kept apart from the pool, one call at a time.
   */
  withBackgroundConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  /**
   * Interrupts background work, waits for it to stop (a connection closed
   * while a statement runs on it blocks the process's exit), and releases
   * every connection and the instance.
   */
  close(): Promise<void>;
}

/**
 * Opens the instance: limits and extension auto-install/auto-load off at
 * creation, then the lock-down in the only order DuckDB accepts:
 * `allowed_directories` (settable only before external access is disabled),
 * `temp_directory`, `enable_external_access = false`, and last
 * `lock_configuration = true`, which every later connection inherits.
 */
export async function createDuckDBEngine(options: DuckDBEngineOptions): Promise<DuckDBEngine> {
  const cacheDirectory = path.resolve(options.cacheDirectory);
  const tempDirectory = path.resolve(options.tempDirectory);
  await mkdir(cacheDirectory, { recursive: true });
  await mkdir(tempDirectory, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:", {
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    memory_limit: options.memoryLimit,
    threads: String(options.threads),
    max_temp_directory_size: options.maxTempDirectorySize,
  });
  const setup = await instance.connect();
  try {
    await setup.run("SET TimeZone = 'UTC'");
    await setup.run(`SET allowed_directories = [${sqlString(`${cacheDirectory}/`)}]`);
    await setup.run(`SET temp_directory = ${sqlString(tempDirectory)}`);
    await setup.run("SET enable_external_access = false");
    await setup.run("SET lock_configuration = true");
  } finally {
    setup.closeSync();
  }
  const connections: DuckDBConnection[] = [];
  for (let i = 0; i < options.poolSize; i++) connections.push(await instance.connect());
  const utility = serialConnection(await instance.connect());
  const background = serialConnection(await instance.connect());
  const pool = createBoundedPool(connections, options.maxQueued);
  return {
    cacheDirectory,
    acquire: (signal) => pool.acquire(signal),
    withUtilityConnection: utility.run,
    withBackgroundConnection: background.run,
    async close() {
      background.connection.interrupt();
      await background.idle();
      for (const connection of [...connections, utility.connection, background.connection]) {
        connection.closeSync();
      }
      instance.closeSync();
    },
  };
}

/** A connection that runs one piece of work at a time, in call order. */
function serialConnection(connection: DuckDBConnection) {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    connection,
    run<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
      const run = tail.then(() => work(connection));
      tail = run.catch(() => undefined);
      return run;
    },
    /** Resolves once the work queued so far has settled. */
    async idle() {
      for (let seen: unknown; seen !== tail; ) {
        seen = tail;
        await tail;
      }
    },
  };
}
