/**
 * Arrow 32-bit offsets (Utf8, Binary, List, Map): starts at 0 and grows by
 * doubling. Exceeding 2^31 - 1 would wrap silently, so it fails instead.
 */
export class OffsetsBuilder {
  private offsets: Int32Array;
  private count = 1;

  constructor(capacityItems = 2048) {
    this.offsets = new Int32Array(Math.max(16, capacityItems + 1));
  }

  /** The end offset of the last item. */
  get last(): number {
    return this.offsets[this.count - 1] ?? 0;
  }

  /** Appends the end offset of one more item, `size` after the previous one. */
  push(size: number): void {
    const next = this.last + size;
    if (next > 0x7fffffff) throw new Error("Arrow batch exceeds 2^31 - 1 bytes or items");
    if (this.count === this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.count++] = next;
  }

  /** The offsets written (items + 1 values), then starts afresh. */
  take(): Int32Array {
    const written = this.offsets.subarray(0, this.count);
    this.offsets = new Int32Array(this.offsets.length);
    this.count = 1;
    return written;
  }
}
