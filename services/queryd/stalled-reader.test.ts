import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { type QueryFixture, startQueryFixture } from "./testing/query-fixture.js";

let fx: QueryFixture;

beforeAll(async () => {
  fx = await startQueryFixture({
    poolSize: 1,
    maxQueued: 4,
    limits: { stalledReaderTimeoutMs: 300 },
  });
  // About 100 MB of result: far more than HTTP/2 windows and socket buffers hold.
  await fx.ingest("wide", "SELECT range AS n, repeat('x', 200) AS pad FROM range(500000)");
});

afterAll(async () => {
  await fx?.close();
});

describe("a client that stops reading", () => {
  it("loses its query after the stall timeout, which frees the only connection", async () => {
    const stream = fx.queryOverNetwork
      .executeQuery({ sql: "SELECT n, pad FROM wide" })
      [Symbol.asyncIterator]();
    const header = await stream.next();
    expect(header.value?.payload.case).toBe("header");

    await new Promise((resolve) => setTimeout(resolve, 1500));
    const next = await fx.collect(
      { sql: "SELECT count(*) AS n FROM wide" },
      { client: fx.queryOverNetwork, timeoutMs: 5000 },
    );
    expect(next.summary.rowCount).toBe(1n);

    const error = await (async () => {
      for (;;) {
        const message = await stream.next();
        if (message.done) return undefined;
      }
    })().catch((reason: unknown) => ConnectError.from(reason));
    expect(error?.code).toBe(Code.Aborted);
    expect(errorReason(error as ConnectError)).toBe("READER_STALLED");
  });
});
