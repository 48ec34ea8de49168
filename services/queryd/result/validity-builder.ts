import { isValid } from "./duckdb-vector-access.js";

const BIT_COUNTS = Uint8Array.from({ length: 256 }, (_, byte) => {
  let count = 0;
  for (let b = byte; b !== 0; b >>= 1) count += b & 1;
  return count;
});

/**
 * Accumulates an Arrow validity bitmap from DuckDB validity masks. Both are
 * LSB-first bitmaps, so aligned runs are copied byte by byte; the null count
 * is kept exact so a column without nulls is written without a bitmap.
 */
export class ValidityBuilder {
  private bits: Uint8Array;
  private length = 0;
  private nulls = 0;

  constructor(capacityItems = 2048) {
    this.bits = new Uint8Array(Math.max(8, Math.ceil(capacityItems / 8)));
  }

  /** Appends `count` items of `source` from `start` (null source: all valid). */
  appendFrom(source: Uint8Array | null, start: number, count: number): void {
    this.reserve(count);
    const to = this.length;
    if (source === null) {
      this.setValidRange(to, count);
    } else if ((start & 7) === 0 && (to & 7) === 0) {
      const whole = count >> 3;
      const from = start >> 3;
      this.bits.set(source.subarray(from, from + whole), to >> 3);
      let valid = 0;
      for (let i = 0; i < whole; i++) valid += BIT_COUNTS[source[from + i] ?? 0] ?? 0;
      this.nulls += whole * 8 - valid;
      for (let i = whole * 8; i < count; i++) this.appendBit(to + i, isValid(source, start + i));
    } else {
      for (let i = 0; i < count; i++) this.appendBit(to + i, isValid(source, start + i));
    }
    this.length = to + count;
  }

  /** The bitmap and null count of everything appended, then starts afresh. */
  finish(): { nullBitmap: Uint8Array | undefined; nullCount: number } {
    const result = {
      nullBitmap: this.nulls === 0 ? undefined : this.bits.subarray(0, Math.ceil(this.length / 8)),
      nullCount: this.nulls,
    };
    this.bits = new Uint8Array(this.bits.length);
    this.length = 0;
    this.nulls = 0;
    return result;
  }

  private appendBit(index: number, valid: boolean): void {
    if (valid) {
      this.bits[index >> 3] = (this.bits[index >> 3] ?? 0) | (1 << (index & 7));
    } else {
      this.nulls++;
    }
  }

  private setValidRange(from: number, count: number): void {
    let i = from;
    const end = from + count;
    for (; i < end && (i & 7) !== 0; i++) this.appendBit(i, true);
    const wholeEnd = end & ~7;
    if (i < wholeEnd) {
      this.bits.fill(0xff, i >> 3, wholeEnd >> 3);
      i = wholeEnd;
    }
    for (; i < end; i++) this.appendBit(i, true);
  }

  private reserve(count: number): void {
    const needed = Math.ceil((this.length + count) / 8);
    if (needed <= this.bits.length) return;
    const grown = new Uint8Array(Math.max(needed, this.bits.length * 2));
    grown.set(this.bits);
    this.bits = grown;
  }
}
