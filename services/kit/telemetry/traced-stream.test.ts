import { ROOT_CONTEXT } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { traceStream } from "./traced-stream.js";

/** A source that records whether its `finally` ran. */
function source() {
  const state = { closed: false };
  async function* numbers() {
    try {
      yield 1;
      yield 2;
    } finally {
      state.closed = true;
    }
  }
  return { state, stream: numbers() };
}

describe("traceStream", () => {
  it("ends once, without an error, when the source is drained", async () => {
    const ends: unknown[] = [];
    const { stream } = source();
    const seen: number[] = [];
    for await (const value of traceStream(stream, ROOT_CONTEXT, (error) => ends.push(error))) {
      seen.push(value);
    }
    expect(seen).toEqual([1, 2]);
    expect(ends).toEqual([undefined]);
  });

  it("closes the source and ends when the consumer returns early", async () => {
    const ends: unknown[] = [];
    const { state, stream } = source();
    for await (const _ of traceStream(stream, ROOT_CONTEXT, (error) => ends.push(error))) break;
    expect(state.closed).toBe(true);
    expect(ends).toEqual([undefined]);
  });

  it("closes the source and ends with the error when the consumer throws into it", async () => {
    const ends: unknown[] = [];
    const { state, stream } = source();
    const wrapped = traceStream(stream, ROOT_CONTEXT, (error) => ends.push(error));
    await wrapped.next();
    const cancelled = new Error("cancelled");
    await expect(wrapped.throw(cancelled)).rejects.toBe(cancelled);
    expect(state.closed).toBe(true);
    expect(ends).toEqual([cancelled]);
  });

  it("passes the source's error on and ends with it", async () => {
    const ends: unknown[] = [];
    const broken = new Error("broken");
    async function* failing() {
      yield 1;
      throw broken;
    }
    const reading = (async () => {
      for await (const _ of traceStream(failing(), ROOT_CONTEXT, (error) => ends.push(error))) {
      }
    })();
    await expect(reading).rejects.toBe(broken);
    expect(ends).toEqual([broken]);
  });
});
