import {
  type Data,
  DataType,
  type Decimal,
  type Dictionary,
  type Int,
  type Interval,
  IntervalUnit,
  type RecordBatch,
  type Time,
  type Timestamp,
  TimeUnit,
  type Vector,
} from "apache-arrow";
import { shortestFloat32 } from "../kit/float32-text.js";
import { isoDate, isoTime, isoTimestamp } from "../queryd/result/iso-datetime.js";
import type { JsonValue } from "../queryd/result/json-value.js";

/** DuckDB's ±infinity for DATE (int32) and every TIMESTAMP unit (int64). */
const DATE_INFINITY = 2 ** 31 - 1;
const TIMESTAMP_INFINITY = 2n ** 63n - 1n;

const UNITS_PER_SECOND: Record<TimeUnit, bigint> = {
  [TimeUnit.SECOND]: 1n,
  [TimeUnit.MILLISECOND]: 1000n,
  [TimeUnit.MICROSECOND]: 1_000_000n,
  [TimeUnit.NANOSECOND]: 1_000_000_000n,
};

const utf8 = new TextDecoder("utf-8");

/** A JSON object without a prototype, so a column named `__proto__` stays a key. */
function jsonObject(): { [key: string]: JsonValue } {
  return Object.create(null) as { [key: string]: JsonValue };
}

function variableWidthBytes(data: Data, index: number): Uint8Array {
  const offsets = data.valueOffsets as Int32Array;
  return (data.values as Uint8Array).subarray(offsets[index], offsets[index + 1]);
}

/** Reads a little-endian two's-complement integer of `words` 32-bit words. */
function signedWords(values: Uint32Array, start: number, words: number): bigint {
  let value = 0n;
  for (let w = words - 1; w >= 0; w--) value = (value << 32n) | BigInt(values[start + w] ?? 0);
  return BigInt.asIntN(words * 32, value);
}

/** DECIMAL text as DuckDB writes it: every scale digit kept, `-` before the integer part. */
function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Value `index` of a dictionary, which may arrive in several chunks (delta batches). */
function dictionaryValue(dictionary: Vector, index: number): JsonValue {
  let rest = index;
  for (const chunk of dictionary.data) {
    if (rest < chunk.length) return arrowJsonValue(chunk, rest);
    rest -= chunk.length;
  }
  return null;
}

/**
 * The JSON form of value `index` of an Arrow column, equal to what queryd
 * sends for the same value as a JSON row (`RESULT_FORMAT_JSON`): 64-bit
 * integers and decimals as strings, dates and timestamps in ISO-8601 with
 * DuckDB's `infinity`, binary as base64, intervals as `{months, days, micros}`,
 * maps as `[{key, value}]`, NaN and infinities as strings. Values are read
 * from the column buffers by Arrow type, never through arrow-js `get()`, which
 * turns microsecond timestamps into lossy millisecond numbers and fails on
 * DuckDB's infinities.
 */
export function arrowJsonValue(data: Data, index: number): JsonValue {
  if (!data.getValid(index)) return null;
  const type = data.type as DataType;
  if (DataType.isNull(type)) return null;
  if (DataType.isBool(type)) {
    const bit = data.offset + index;
    return ((data.values as Uint8Array)[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }
  if (DataType.isInt(type)) {
    const value = (data.values as ArrayLike<number | bigint>)[index]!;
    return (type as Int).bitWidth === 64 ? value.toString() : (value as number);
  }
  if (DataType.isFloat(type)) {
    const values = data.values as Float32Array | Float64Array;
    const value = values[index]!;
    if (!Number.isFinite(value)) return String(value);
    return values instanceof Float32Array ? shortestFloat32(value) : value;
  }
  if (DataType.isDecimal(type)) {
    const { bitWidth, scale } = type as Decimal;
    const words = bitWidth / 32;
    return decimalText(signedWords(data.values as Uint32Array, index * words, words), scale);
  }
  if (DataType.isUtf8(type)) return utf8.decode(variableWidthBytes(data, index));
  if (DataType.isBinary(type)) {
    return Buffer.from(variableWidthBytes(data, index)).toString("base64");
  }
  if (DataType.isDate(type)) {
    const days = (data.values as Int32Array)[index]!;
    if (Math.abs(days) === DATE_INFINITY) return days > 0 ? "infinity" : "-infinity";
    return isoDate(days);
  }
  if (DataType.isTime(type)) {
    const unit = (type as Time).unit;
    return isoTime(
      BigInt((data.values as ArrayLike<number | bigint>)[index]!),
      UNITS_PER_SECOND[unit],
    );
  }
  if (DataType.isTimestamp(type)) {
    const { unit, timezone } = type as Timestamp;
    const units = (data.values as BigInt64Array)[index]!;
    if (units === TIMESTAMP_INFINITY || units === -TIMESTAMP_INFINITY) {
      return units > 0n ? "infinity" : "-infinity";
    }
    return isoTimestamp(units, UNITS_PER_SECOND[unit], timezone !== null && timezone !== "");
  }
  if (DataType.isInterval(type) && (type as Interval).unit === IntervalUnit.MONTH_DAY_NANO) {
    const values = data.values as Int32Array;
    const nanos = signedWords(
      new Uint32Array(values.buffer, values.byteOffset + index * 16 + 8, 2),
      0,
      2,
    );
    return {
      months: values[index * 4]!,
      days: values[index * 4 + 1]!,
      micros: (nanos / 1000n).toString(),
    };
  }
  if (DataType.isList(type)) {
    const offsets = data.valueOffsets as Int32Array;
    const child = data.children[0]!;
    const items: JsonValue[] = [];
    for (let i = offsets[index]!; i < offsets[index + 1]!; i++)
      items.push(arrowJsonValue(child, i));
    return items;
  }
  if (DataType.isFixedSizeList(type)) {
    const size = type.listSize;
    const child = data.children[0]!;
    const items: JsonValue[] = [];
    for (let i = index * size; i < (index + 1) * size; i++) items.push(arrowJsonValue(child, i));
    return items;
  }
  if (DataType.isStruct(type)) {
    const object = jsonObject();
    type.children.forEach((field, i) => {
      object[field.name] = arrowJsonValue(data.children[i]!, index);
    });
    return object;
  }
  if (DataType.isMap(type)) {
    const offsets = data.valueOffsets as Int32Array;
    const entries = data.children[0]!;
    const [keys, values] = entries.children;
    const items: JsonValue[] = [];
    for (let i = offsets[index]!; i < offsets[index + 1]!; i++) {
      items.push({ key: arrowJsonValue(keys!, i), value: arrowJsonValue(values!, i) });
    }
    return items;
  }
  if (DataType.isDictionary(type)) {
    const key = Number((data.values as ArrayLike<number | bigint>)[index]!);
    const dictionary = (data as Data<Dictionary>).dictionary;
    return dictionary === undefined ? null : dictionaryValue(dictionary, key);
  }
  throw new Error(`Arrow type ${String(type)} is not one queryd sends`);
}

/** The rows of a record batch, each value in its JSON form (see {@link arrowJsonValue}). */
export function* batchRows(batch: RecordBatch): Generator<JsonValue[]> {
  const columns = batch.data.children;
  for (let row = 0; row < batch.numRows; row++) {
    yield columns.map((column) => arrowJsonValue(column, row));
  }
}
