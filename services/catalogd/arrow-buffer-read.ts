// Exact reads of one value from an Arrow `Data`'s buffers. apache-arrow's own getters turn
// 64-bit integers, timestamps and decimals into JS numbers or objects that are not exact,
// so the import reads the buffers directly. As in apache-arrow, value and offset buffers
// are already sliced to the Data (index 0 is its first slot); only bit-packed buffers
// (validity, booleans) are addressed through `data.offset`.
import type { Data } from "apache-arrow";

const utf8 = new TextDecoder();

/** The 64-bit integer at `index` (Int64, Uint64, timestamps, Time64, Date64, Duration). */
export function int64At(data: Data, index: number): bigint {
  return (data.values as BigInt64Array | BigUint64Array)[index] as bigint;
}

/** The boolean at `index` of a bit-packed Bool buffer. */
export function boolAt(data: Data, index: number): boolean {
  const bit = data.offset + index;
  return (((data.values as Uint8Array)[bit >> 3] as number) & (1 << (bit & 7))) !== 0;
}

/**
 * The two's-complement integer of a Decimal at `index`, from its little-endian 32-bit
 * words (`data.stride` of them: 1, 2, 4 or 8 for 32-, 64-, 128- and 256-bit decimals).
 */
export function decimalAt(data: Data, index: number): bigint {
  const words = data.values as Uint32Array;
  const width = data.stride;
  const base = index * width;
  let value = 0n;
  for (let i = width - 1; i >= 0; i--) value = (value << 32n) | BigInt(words[base + i] as number);
  return BigInt.asIntN(width * 32, value);
}

/** An IEEE 754 half-precision float from its 16 bits; every one is exact as a float32. */
export function float16At(data: Data, index: number): number {
  const bits = (data.values as Uint16Array)[index] as number;
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The [begin, end) child range of slot `index` of a List, LargeList, Map, Binary or Utf8. */
export function offsetRange(data: Data, index: number): [number, number] {
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  return [Number(offsets[index]), Number(offsets[index + 1])];
}

/** The bytes of slot `index` of a Binary, LargeBinary, Utf8 or LargeUtf8 (a view, not a copy). */
export function variableBytesAt(data: Data, index: number): Uint8Array {
  const [begin, end] = offsetRange(data, index);
  return (data.values as Uint8Array).subarray(begin, end);
}

/** The bytes of slot `index` of a FixedSizeBinary (a view, not a copy). */
export function fixedBytesAt(data: Data, index: number): Uint8Array {
  const width = data.stride;
  return (data.values as Uint8Array).subarray(index * width, (index + 1) * width);
}

function int32LE(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] as number) |
    ((bytes[at + 1] as number) << 8) |
    ((bytes[at + 2] as number) << 16) |
    ((bytes[at + 3] as number) << 24)
  );
}

/**
 * The bytes of slot `index` of a BinaryView or Utf8View: a 16-byte view holding the
 * length and either the bytes themselves (up to 12) or a buffer index and offset.
 */
export function viewBytesAt(data: Data, index: number): Uint8Array {
  const views = data.values as Uint8Array;
  const at = index * 16;
  const length = int32LE(views, at);
  if (length <= 12) return views.subarray(at + 4, at + 4 + length);
  const buffer = data.variadicBuffers[int32LE(views, at + 8)];
  const offset = int32LE(views, at + 12);
  if (buffer === undefined || offset + length > buffer.length) {
    throw new Error(`Arrow view at slot ${index} points outside its data buffers`);
  }
  return buffer.subarray(offset, offset + length);
}

/** Decodes UTF-8 text, as apache-arrow does for Utf8 values. */
export function utf8Text(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}
