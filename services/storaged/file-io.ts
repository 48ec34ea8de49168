import type { FileHandle } from "node:fs/promises";

/**
 * Reads `length` bytes at `position`, looping over short reads; returns fewer
 * only at end of file, which callers treat as truncation. With `into`, the
 * bytes land in that (reused) buffer instead of a new one.
 */
export async function readExactly(
  handle: FileHandle,
  length: number,
  position: number,
  into?: Buffer,
): Promise<Buffer> {
  const buffer = into && into.length >= length ? into : Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/** Writes all of `chunk` at the current position, looping over short writes. */
export async function writeFully(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let written = 0;
  while (written < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.byteLength - written);
    written += bytesWritten;
  }
}
