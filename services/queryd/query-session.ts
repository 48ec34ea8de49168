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

/** How often an aborted session interrupts its connection again, until it is closed. */
const INTERRUPT_REPEAT_MS = 50;

/**
 * Borrows a connection whose running statement is interrupted as soon as the
 * call's signal aborts (deadline passed or client gone), so DuckDB stops
 * within milliseconds instead of running on for nobody. DuckDB forgets an
 * interrupt that lands before a statement starts (it clears the flag when one
 * begins: while it is being prepared, say), so once aborted the session
 * interrupts again every 50 ms until it is closed.
 */
export async function openQuerySession(
  engine: DuckDBEngine,
  signal: AbortSignal,
): Promise<QuerySession> {
  const lease = await engine.acquire(signal);
  const connection = lease.value;
  let repeating: NodeJS.Timeout | undefined;
  const interrupt = () => {
    connection.interrupt();
    repeating ??= setInterval(() => connection.interrupt(), INTERRUPT_REPEAT_MS);
  };
  signal.addEventListener("abort", interrupt, { once: true });
  if (signal.aborted) interrupt();
  let closed = false;
  return {
    connection,
    close(unfinished) {
      if (closed) return;
      closed = true;
      signal.removeEventListener("abort", interrupt);
      clearInterval(repeating);
      if (unfinished) connection.interrupt();
      lease.release();
    },
  };
}
