import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";
import { writeFully } from "./file-io.js";

/** What writing a body produced: its size and lower-case hex SHA-256. */
export interface HashedBody {
  size: number;
  sha256: string;
}

/** Limits applied while a body is written. */
export interface BodyLimits {
  /** Largest accepted body; larger fails with RESOURCE_EXHAUSTED. */
  maxBytes?: number;
  /** Aborts the write (cancelled RPC): nothing may be published after it fires. */
  signal?: AbortSignal;
  /** When set, the body must hash to this (lower-case hex) or the write fails. */
  expectedSha256?: string;
}

/**
 * Streams a body into an open file while hashing it, so neither backend ever
 * holds a whole body in memory and the checksum recorded is that of the bytes
 * actually written. Enforces the size limit as bytes arrive (an oversize body
 * is refused without being read to its end) and the expected checksum at the end.
 *
 * @throws ConnectError RESOURCE_EXHAUSTED (reason OBJECT_TOO_LARGE), INVALID_ARGUMENT
 *   (reason CHECKSUM_MISMATCH), CANCELED when the signal fired.
 */
export async function writeHashedBody(
  handle: FileHandle,
  body: AsyncIterable<Uint8Array>,
  limits: BodyLimits = {},
): Promise<HashedBody> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of body) {
    limits.signal?.throwIfAborted();
    size += chunk.byteLength;
    if (limits.maxBytes !== undefined && size > limits.maxBytes) {
      throw serviceError(
        Code.ResourceExhausted,
        "OBJECT_TOO_LARGE",
        `object body is larger than the upload limit of ${limits.maxBytes} bytes`,
        { limit: String(limits.maxBytes) },
      );
    }
    hash.update(chunk);
    await writeFully(handle, chunk);
  }
  limits.signal?.throwIfAborted();
  const sha256 = hash.digest("hex");
  if (limits.expectedSha256 !== undefined && limits.expectedSha256 !== sha256) {
    throw serviceError(
      Code.InvalidArgument,
      "CHECKSUM_MISMATCH",
      "object body does not match expected_sha256",
      { expected: limits.expectedSha256, actual: sha256 },
    );
  }
  return { size, sha256 };
}
