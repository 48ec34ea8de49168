import type { DuckDBConnection } from "@duckdb/node-api";
import type { DuckDBEngine } from "./duckdb-engine.js";

/** A pooled connection running one statement for one call. */
export interface QuerySession {
  readonly connection: DuckDBConnection;
  /**
   * Returns the connection to the pool. `unfinished` interrupts whatever it
   * still runs first (the caller stopped reading), so the next statement on
   * it starts clean.
   */
  close(unfinished: boolean): void;
}

/**
 * Borrows a connection whose running statement is interrupted as soon as the
 * call's signal aborts (deadline passed or client gone), so DuckDB stops
 * within milliseconds instead of running on for nobody.
 */
export async function openQuerySession(
  engine: DuckDBEngine,
  signal: AbortSignal,
): Promise<QuerySession> {
  const lease = await engine.acquire(signal);
  const connection = lease.value;
  const interrupt = () => connection.interrupt();
  signal.addEventListener("abort", interrupt, { once: true });
  let closed = false;
  return {
    connection,
    close(unfinished) {
      if (closed) return;
      closed = true;
      signal.removeEventListener("abort", interrupt);
      if (unfinished) connection.interrupt();
      lease.release();
    },
  };
}
