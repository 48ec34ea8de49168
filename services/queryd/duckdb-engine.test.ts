import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import type { DuckDBEngine } from "./duckdb-engine.js";
import { duckdbServiceError } from "./duckdb-errors.js";
import { createSmallEngine } from "./testing/small-engine.js";

let root: string;
let engine: DuckDBEngine;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "queryd-engine-"));
  await mkdir(join(root, "outside"));
  engine = await createSmallEngine(root, { maxQueued: 1 });
});

afterAll(async () => {
  await engine?.close();
  await rm(root, { recursive: true, force: true });
});

/** Runs SQL on a pooled connection, bypassing every check above the engine. */
async function run(sql: string): Promise<unknown[][]> {
  const lease = await engine.acquire();
  try {
    return (await lease.value.runAndReadAll(sql)).getRows();
  } finally {
    lease.release();
  }
}

async function duckdbFailure(sql: string): Promise<ConnectError> {
  return run(sql).then(
    () => {
      throw new Error(`${sql} ran`);
    },
    (error: unknown) => ConnectError.from(duckdbServiceError(error)),
  );
}

describe("the engine lock-down", () => {
  it("lets the engine write and read Parquet inside the cache directory only", async () => {
    const inside = join(engine.cacheDirectory, "own.parquet");
    await run(`COPY (SELECT 42 AS answer) TO '${inside}' (FORMAT parquet)`);
    expect(await run(`SELECT answer FROM read_parquet(['${inside}'])`)).toEqual([[42]]);
    const outside = join(root, "outside", "x.parquet");
    expect((await duckdbFailure(`COPY (SELECT 1) TO '${outside}' (FORMAT parquet)`)).code).toBe(
      Code.PermissionDenied,
    );
    expect(existsSync(outside)).toBe(false);
  });

  it("refuses files outside the cache, also through .. and symlinks", async () => {
    await symlink("/etc", join(engine.cacheDirectory, "etc-link"));
    for (const path of [
      "/etc/passwd",
      `${engine.cacheDirectory}/../outside/x.csv`,
      `${engine.cacheDirectory}/etc-link/passwd`,
    ]) {
      const error = await duckdbFailure(`SELECT * FROM read_text('${path}')`);
      expect(error.code, path).toBe(Code.PermissionDenied);
      expect(errorReason(error)).toBe("SANDBOX_REFUSED");
    }
  });

  it("refuses settings, extensions and attaching, even on a raw connection", async () => {
    expect((await duckdbFailure("SET threads = 4")).rawMessage).toContain("locked");
    expect((await duckdbFailure("SET enable_external_access = true")).rawMessage).toContain(
      "locked",
    );
    expect((await duckdbFailure("LOAD httpfs")).code).toBe(Code.PermissionDenied);
    expect((await duckdbFailure("INSTALL httpfs")).code).toBe(Code.PermissionDenied);
    expect((await duckdbFailure(`ATTACH '${join(root, "outside", "x.db")}'`)).code).toBe(
      Code.PermissionDenied,
    );
    expect(existsSync(join(root, "outside", "x.db"))).toBe(false);
  });

  it("maps DuckDB statement errors to INVALID_ARGUMENT keeping DuckDB's message", async () => {
    const error = await duckdbFailure("SELECT nope FROM (SELECT 1 AS yes)");
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(/^Binder Error: .*nope/);
    expect(error.rawMessage).not.toContain("LINE 1");
  });
});

describe("the connection pool", () => {
  it("queues one caller, refuses the next with RESOURCE_EXHAUSTED, and serves the queued one on release", async () => {
    const first = await engine.acquire();
    const second = engine.acquire();
    const refused = await engine.acquire().catch((e: unknown) => ConnectError.from(e));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.ResourceExhausted);
    expect(errorReason(refused)).toBe("TOO_MANY_QUERIES");
    first.release();
    const lease = await second;
    expect(lease.value).toBe(first.value);
    lease.release();
  });

  it("stops waiting when the caller's signal aborts", async () => {
    const held = await engine.acquire();
    const controller = new AbortController();
    const waiting = engine.acquire(controller.signal).catch((e: unknown) => ConnectError.from(e));
    controller.abort(new ConnectError("deadline", Code.DeadlineExceeded));
    expect(((await waiting) as ConnectError).code).toBe(Code.DeadlineExceeded);
    held.release();
    const again = await engine.acquire();
    again.release();
  });
});

describe("closing the engine", () => {
  it("interrupts background work and waits for it to stop before releasing the instance", async () => {
    const closing = await createSmallEngine(join(root, "closing"));
    let settled = false;
    const work = closing
      .withBackgroundConnection((c) =>
        c.run("SELECT count(*) FROM range(100000000000) WHERE range % 7 = 3"),
      )
      .finally(() => {
        settled = true;
      });
    work.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await closing.close();
    expect(settled).toBe(true);
    await expect(work).rejects.toThrow(/INTERRUPT/i);
  });
});
