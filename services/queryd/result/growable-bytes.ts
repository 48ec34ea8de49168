/**
 * A byte buffer that grows by doubling, for Arrow value, offset and data
 * buffers whose final size is known only when a batch is finished.
 */
export class GrowableBytes {
  private buffer: Uint8Array;
  /** Bytes written so far. */
  length = 0;

  constructor(private readonly initialCapacity = 1024) {
    this.buffer = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Makes room for `extra` more bytes and returns the whole backing array. */
  reserve(extra: number): Uint8Array {
    const needed = this.length + extra;
    if (needed > this.buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.buffer.length * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    return this.buffer;
  }

  /** Appends bytes. */
  append(bytes: Uint8Array): void {
    this.reserve(bytes.length).set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The bytes written, then starts a fresh buffer (the old one stays with its reader). */
  take(): Uint8Array {
    const written = this.buffer.subarray(0, this.length);
    this.buffer = new Uint8Array(Math.max(16, this.initialCapacity, this.length));
    this.length = 0;
    return written;
  }
}
