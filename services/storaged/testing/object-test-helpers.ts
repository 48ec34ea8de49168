import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { errorReason } from "../../kit/errors.js";

/** Concatenates a byte stream. */
export async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Yields `bytes` in pieces of `size`, like a client stream. */
export async function* streamOf(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) {
    yield bytes.subarray(offset, offset + size);
  }
}

/** Deterministic pseudo-random bytes (incompressible, reproducible). */
export function testBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Asserts a promise rejects with a ConnectError of `code` (and `reason`, when given). */
export async function expectCode(
  promise: Promise<unknown>,
  code: Code,
  reason?: string,
): Promise<ConnectError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${Code[code]}`).toBeInstanceOf(Error);
  const error = ConnectError.from(caught);
  expect(Code[error.code]).toBe(Code[code]);
  if (reason !== undefined) expect(errorReason(error)).toBe(reason);
  return error;
}
