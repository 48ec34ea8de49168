import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DuckDBEngine } from "./duckdb-engine.js";
import { openQuerySession } from "./query-session.js";
import { createSmallEngine } from "./testing/small-engine.js";

let root: string;
let engine: DuckDBEngine;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "queryd-session-"));
  engine = await createSmallEngine(root);
});

afterAll(async () => {
  await engine?.close();
  await rm(root, { recursive: true, force: true });
});

/** Seconds of work for one thread; far longer than any test waits. */
const RUNAWAY = "SELECT count(*) FROM range(100000000000)";

describe("openQuerySession", () => {
  it("stops a statement that starts after the call was aborted, though DuckDB forgets early interrupts", async () => {
    const controller = new AbortController();
    const session = await openQuerySession(engine, controller.signal);
    try {
      // Aborted while the statement is prepared: the interrupt lands before it runs.
      const statement = await session.connection.prepare(RUNAWAY);
      controller.abort();
      const started = performance.now();
      const outcome = await statement.run().then(
        () => "finished",
        (error: unknown) => String(error),
      );
      expect(outcome).toMatch(/INTERRUPT/i);
      expect(performance.now() - started).toBeLessThan(2_000);
      statement.destroySync();
    } finally {
      session.close(true);
    }
    // The connection went back to the pool clean: the next statement runs.
    const next = await openQuerySession(engine, new AbortController().signal);
    try {
      const reader = await next.connection.runAndReadAll("SELECT 42");
      expect(reader.getRows()).toEqual([[42]]);
    } finally {
      next.close(false);
    }
  });
});
