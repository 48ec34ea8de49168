import { createHash } from "node:crypto";
import { Code, type ConnectError } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/** The error for stored bytes that no longer match what was recorded at write time. */
export function dataLossError(key: string, message: string): ConnectError {
  return serviceError(Code.DataLoss, "CHECKSUM_MISMATCH", message, { key });
}

/**
 * Passes a whole body through while hashing it and fails with DATA_LOSS after
 * the last chunk when the size or SHA-256 differ from the recorded ones. A
 * reader that reaches the end without error therefore holds verified bytes.
 * An empty `sha256` means none was recorded (an object written by another
 * tool): only the size is checked then.
 */
export async function* verifyBody(
  body: AsyncIterable<Uint8Array>,
  expected: { key: string; size: number; sha256: string },
): AsyncGenerator<Uint8Array, void, undefined> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > expected.size) {
      throw dataLossError(expected.key, "stored object is longer than recorded");
    }
    hash.update(chunk);
    yield chunk;
  }
  if (size !== expected.size) {
    throw dataLossError(expected.key, "stored object is shorter than recorded");
  }
  if (expected.sha256 !== "" && hash.digest("hex") !== expected.sha256) {
    throw dataLossError(expected.key, "stored object does not match its recorded SHA-256");
  }
}
