import { DuckDBTypeId, DuckDBVector } from "@duckdb/node-api";
import { type Data, makeData, type Struct, type Vector, vectorFromArray } from "apache-arrow";
import type { ArrowMapping } from "./arrow-type-mapping.js";
import {
  appendStringBytes,
  arrayChild,
  isValid,
  LIST_ENTRY_BYTES,
  listChild,
  type RawVector,
  STRING_T_BYTES,
  structChild,
  vectorBytes,
  vectorValidity,
} from "./duckdb-vector-access.js";
import { GrowableBytes } from "./growable-bytes.js";
import { jsonTextFor } from "./json-value.js";
import { OffsetsBuilder } from "./offsets-builder.js";
import { ValidityBuilder } from "./validity-builder.js";

/**
 * Builds one Arrow column from DuckDB vectors. `read` takes what it needs from
 * a vector once (for a list, the whole child vector too); `append` then copies
 * any run of its items, so a chunk can be split across two batches and a list
 * child read once however many entries point into it.
 */
export interface ColumnBuilder<Source = unknown> {
  read(vector: RawVector, length: number): Source;
  append(source: Source, start: number, count: number): void;
  /** The Arrow data of everything appended since the last finish. */
  finish(): Data;
  /** Bytes buffered so far, to bound the size of a batch. */
  readonly byteLength: number;
}

interface FlatSource {
  data: Uint8Array;
  validity: Uint8Array | null;
}

/** Copies `count` items of `width` bytes from `source` at item `start`. */
function copyItems(
  target: GrowableBytes,
  data: Uint8Array,
  width: number,
  start: number,
  count: number,
) {
  const bytes = count * width;
  target.reserve(bytes).set(data.subarray(start * width, start * width + bytes), target.length);
  target.length += bytes;
}

/** A typed view of `count` items at item `start`, copied first if DuckDB's memory is misaligned. */
function itemsView<T>(
  Type: {
    new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
    BYTES_PER_ELEMENT: number;
  },
  data: Uint8Array,
  start: number,
  count: number,
): T {
  const width = Type.BYTES_PER_ELEMENT;
  const offset = data.byteOffset + start * width;
  if (offset % width === 0) return new Type(data.buffer, offset, count);
  return new Type(data.slice(start * width, (start + count) * width).buffer, 0, count);
}

abstract class FlatBuilder implements ColumnBuilder<FlatSource> {
  protected readonly validity: ValidityBuilder;
  protected readonly values: GrowableBytes;
  protected length = 0;

  constructor(
    protected readonly mapping: ArrowMapping,
    private readonly sourceWidth: number,
    targetWidth: number,
    capacity: number,
  ) {
    this.validity = new ValidityBuilder(capacity);
    this.values = new GrowableBytes(capacity * targetWidth);
  }

  get byteLength(): number {
    return this.values.length + (this.length >> 3);
  }

  read(vector: RawVector, length: number): FlatSource {
    return {
      data: vectorBytes(vector, length * this.sourceWidth),
      validity: vectorValidity(vector, length),
    };
  }

  append(source: FlatSource, start: number, count: number): void {
    this.validity.appendFrom(source.validity, start, count);
    this.appendValues(source, start, count);
    this.length += count;
  }

  protected abstract appendValues(source: FlatSource, start: number, count: number): void;

  finish(): Data {
    const length = this.length;
    this.length = 0;
    // makeData's props depend on the static Arrow type; the mapping holds it only at run time.
    return makeData({
      type: this.mapping.arrowType,
      length,
      ...this.validity.finish(),
      data: this.values.take(),
    } as never);
  }
}

/** Types whose DuckDB and Arrow layouts match: one copy per run (the fast path). */
class CopyBuilder extends FlatBuilder {
  constructor(mapping: ArrowMapping & { byteWidth: number }, capacity: number) {
    super(mapping, mapping.byteWidth, mapping.byteWidth, capacity);
  }

  protected appendValues(source: FlatSource, start: number, count: number): void {
    copyItems(
      this.values,
      source.data,
      (this.mapping as { byteWidth: number }).byteWidth,
      start,
      count,
    );
  }
}

/** BOOLEAN: one DuckDB byte per value into one Arrow bit. */
class BooleanBuilder extends FlatBuilder {
  constructor(mapping: ArrowMapping, capacity: number) {
    super(mapping, 1, 1, capacity);
  }

  override get byteLength(): number {
    return this.length >> 2;
  }

  protected appendValues(source: FlatSource, start: number, count: number): void {
    const bits = this.values.reserve(Math.ceil((this.length + count) / 8) - this.values.length + 1);
    for (let i = 0; i < count; i++) {
      if (source.data[start + i] !== 0) {
        const bit = this.length + i;
        bits[bit >> 3] = (bits[bit >> 3] ?? 0) | (1 << (bit & 7));
      }
    }
    this.values.length = Math.ceil((this.length + count) / 8);
  }
}

/** DECIMAL of any width into Decimal128: narrower integers are sign-extended to 16 bytes. */
class DecimalBuilder extends FlatBuilder {
  constructor(
    mapping: ArrowMapping,
    private readonly sourceBytes: 2 | 4 | 8 | 16,
    capacity: number,
  ) {
    super(mapping, sourceBytes, 16, capacity);
  }

  protected appendValues(source: FlatSource, start: number, count: number): void {
    if (this.sourceBytes === 16) {
      copyItems(this.values, source.data, 16, start, count);
      return;
    }
    const buffer = this.values.reserve(count * 16);
    const words = new Int32Array(buffer.buffer, buffer.byteOffset + this.values.length, count * 4);
    if (this.sourceBytes === 8) {
      const from = itemsView(Int32Array, source.data, start * 2, count * 2);
      for (let i = 0; i < count; i++) {
        const high = from[2 * i + 1] ?? 0;
        const sign = high >> 31;
        words[4 * i] = from[2 * i] ?? 0;
        words[4 * i + 1] = high;
        words[4 * i + 2] = sign;
        words[4 * i + 3] = sign;
      }
    } else {
      const from =
        this.sourceBytes === 4
          ? itemsView(Int32Array, source.data, start, count)
          : itemsView(Int16Array, source.data, start, count);
      for (let i = 0; i < count; i++) {
        const value = from[i] ?? 0;
        const sign = value >> 31;
        words[4 * i] = value;
        words[4 * i + 1] = sign;
        words[4 * i + 2] = sign;
        words[4 * i + 3] = sign;
      }
    }
    this.values.length += count * 16;
  }
}

const MAX_INTERVAL_MICROS = 9_223_372_036_854_775n;

/** INTERVAL: months and days as they are, microseconds × 1000 into nanoseconds. */
class IntervalBuilder extends FlatBuilder {
  constructor(mapping: ArrowMapping, capacity: number) {
    super(mapping, 16, 16, capacity);
  }

  protected appendValues(source: FlatSource, start: number, count: number): void {
    copyItems(this.values, source.data, 16, start, count);
    const buffer = this.values.reserve(0);
    const at = buffer.byteOffset + this.values.length - count * 16;
    const nanos = new BigInt64Array(buffer.buffer, at, count * 2);
    for (let i = 1; i < count * 2; i += 2) {
      const micros = nanos[i] ?? 0n;
      // Arrow keeps nanoseconds in 64 bits: about ±292 years of time part.
      if (micros > MAX_INTERVAL_MICROS || micros < -MAX_INTERVAL_MICROS) {
        throw new Error("INTERVAL time part exceeds the range of Arrow MonthDayNano");
      }
      nanos[i] = micros * 1000n;
    }
  }
}

/** ENUM: DuckDB's unsigned indices into signed Arrow indices, the enum values as dictionary. */
class EnumBuilder extends FlatBuilder {
  private readonly dictionary: Vector;

  constructor(mapping: ArrowMapping & { encoding: "enum" }, capacity: number) {
    const targetBytes = mapping.sourceBytes === 1 ? 2 : 4;
    super(mapping, mapping.sourceBytes, targetBytes, capacity);
    this.dictionary = vectorFromArray([...mapping.values], mapping.arrowType.dictionary);
  }

  protected appendValues(source: FlatSource, start: number, count: number): void {
    const { sourceBytes } = this.mapping as { sourceBytes: 1 | 2 | 4 };
    const targetBytes = sourceBytes === 1 ? 2 : 4;
    const buffer = this.values.reserve(count * targetBytes);
    const at = buffer.byteOffset + this.values.length;
    const to =
      targetBytes === 2
        ? new Int16Array(buffer.buffer, at, count)
        : new Int32Array(buffer.buffer, at, count);
    if (sourceBytes === 1) to.set(itemsView(Uint8Array, source.data, start, count));
    else if (sourceBytes === 2) to.set(itemsView(Uint16Array, source.data, start, count));
    else to.set(itemsView(Uint32Array, source.data, start, count));
    // A NULL's index is whatever DuckDB left there; readers check every index against the dictionary.
    if (source.validity !== null) {
      for (let i = 0; i < count; i++) if (!isValid(source.validity, start + i)) to[i] = 0;
    }
    this.values.length += count * targetBytes;
  }

  override finish(): Data {
    const data = super.finish();
    return makeData({
      type: this.mapping.arrowType,
      length: data.length,
      nullCount: data.nullCount,
      nullBitmap: data.nullBitmap,
      data: data.values,
      dictionary: this.dictionary,
    } as never);
  }
}

interface VariableSource {
  validity: Uint8Array | null;
  /** Appends item `index`'s bytes to `data` and returns how many. */
  appendItem(index: number, data: GrowableBytes): number;
}

const encoder = new TextEncoder();

/** Utf8 and Binary: offsets plus one data buffer, from string_t bytes or rendered text. */
class VariableBuilder implements ColumnBuilder<VariableSource> {
  private readonly validity: ValidityBuilder;
  private readonly offsets: OffsetsBuilder;
  private readonly data = new GrowableBytes(64 * 1024);
  private length = 0;

  constructor(
    private readonly mapping: ArrowMapping,
    capacity: number,
  ) {
    this.validity = new ValidityBuilder(capacity);
    this.offsets = new OffsetsBuilder(capacity);
  }

  get byteLength(): number {
    return this.data.length + this.length * 4;
  }

  read(vector: RawVector, length: number): VariableSource {
    const validity = vectorValidity(vector, length);
    const { mapping } = this;
    if (mapping.encoding === "string") {
      const data = vectorBytes(vector, length * STRING_T_BYTES);
      return { validity, appendItem: (index, target) => appendStringBytes(data, index, target) };
    }
    const values = DuckDBVector.create(vector, length, mapping.duckdbType);
    const appendBytes = (bytes: Uint8Array, target: GrowableBytes) => {
      target.append(bytes);
      return bytes.length;
    };
    if (mapping.encoding === "bytes") {
      return {
        validity,
        appendItem: (index, target) =>
          appendBytes((values.getItem(index) as { bytes: Uint8Array }).bytes, target),
      };
    }
    return {
      validity,
      appendItem: (index, target) =>
        appendBytes(encoder.encode(renderText(values, index, mapping)), target),
    };
  }

  append(source: VariableSource, start: number, count: number): void {
    this.validity.appendFrom(source.validity, start, count);
    for (let i = start; i < start + count; i++) {
      if (isValid(source.validity, i)) {
        this.offsets.push(source.appendItem(i, this.data));
      } else {
        this.offsets.push(0);
      }
    }
    this.length += count;
  }

  finish(): Data {
    const length = this.length;
    this.length = 0;
    return makeData({
      type: this.mapping.arrowType,
      length,
      ...this.validity.finish(),
      valueOffsets: this.offsets.take(),
      data: this.data.take(),
    } as never);
  }
}

/** The text of a `render` value: exact integers, DuckDB's own text, or JSON for UNION and VARIANT. */
function renderText(values: DuckDBVector, index: number, mapping: ArrowMapping): string {
  const value = values.getItem(index);
  const type = mapping.duckdbType;
  if (type.typeId === DuckDBTypeId.UNION || type.typeId === DuckDBTypeId.VARIANT) {
    return jsonTextFor(value, type);
  }
  return String(value);
}

interface ListSource {
  entries: Uint32Array;
  validity: Uint8Array | null;
  child: unknown;
}

/** LIST and MAP: Arrow offsets from DuckDB (offset, length) entries; the child appended in runs. */
class ListBuilder implements ColumnBuilder<ListSource> {
  private readonly validity: ValidityBuilder;
  private readonly offsets: OffsetsBuilder;
  private length = 0;

  constructor(
    private readonly mapping: ArrowMapping,
    private readonly child: ColumnBuilder,
    capacity: number,
  ) {
    this.validity = new ValidityBuilder(capacity);
    this.offsets = new OffsetsBuilder(capacity);
  }

  get byteLength(): number {
    return this.length * 4 + this.child.byteLength;
  }

  read(vector: RawVector, length: number): ListSource {
    const child = listChild(vector);
    return {
      entries: itemsView(
        Uint32Array,
        vectorBytes(vector, length * LIST_ENTRY_BYTES),
        0,
        length * 4,
      ),
      validity: vectorValidity(vector, length),
      child: this.child.read(child.vector, child.length),
    };
  }

  append(source: ListSource, start: number, count: number): void {
    this.validity.appendFrom(source.validity, start, count);
    const { entries, validity } = source;
    // Child items are copied in one run when the entries are contiguous, as DuckDB writes them.
    let runStart = -1;
    let runEnd = -1;
    let contiguous = true;
    for (let i = start; i < start + count; i++) {
      const size = isValid(validity, i) ? (entries[4 * i + 2] ?? 0) : 0;
      this.offsets.push(size);
      if (size === 0) continue;
      const offset = entries[4 * i] ?? 0;
      if (entries[4 * i + 1] !== 0 || entries[4 * i + 3] !== 0)
        throw new Error("list entry beyond 2^32");
      if (runStart < 0) runStart = offset;
      else if (offset !== runEnd) contiguous = false;
      runEnd = offset + size;
    }
    if (contiguous) {
      if (runStart >= 0) this.child.append(source.child, runStart, runEnd - runStart);
    } else {
      for (let i = start; i < start + count; i++) {
        const size = isValid(validity, i) ? (entries[4 * i + 2] ?? 0) : 0;
        if (size > 0) this.child.append(source.child, entries[4 * i] ?? 0, size);
      }
    }
    this.length += count;
  }

  finish(): Data {
    const length = this.length;
    this.length = 0;
    return makeData({
      type: this.mapping.arrowType,
      length,
      ...this.validity.finish(),
      valueOffsets: this.offsets.take(),
      child: this.child.finish(),
    } as never);
  }
}

interface NestedSource {
  validity: Uint8Array | null;
  children: unknown[];
}

/** STRUCT (every child takes the same rows) and ARRAY (the child takes `size` items per row). */
class NestedBuilder implements ColumnBuilder<NestedSource> {
  private readonly validity: ValidityBuilder;
  private length = 0;

  constructor(
    private readonly mapping: ArrowMapping,
    private readonly children: ColumnBuilder[],
    private readonly arraySize: number | null,
    capacity: number,
  ) {
    this.validity = new ValidityBuilder(capacity);
  }

  get byteLength(): number {
    return this.children.reduce((sum, child) => sum + child.byteLength, this.length >> 3);
  }

  read(vector: RawVector, length: number): NestedSource {
    const validity = vectorValidity(vector, length);
    if (this.arraySize !== null) {
      const child = this.children[0];
      return { validity, children: [child?.read(arrayChild(vector), length * this.arraySize)] };
    }
    return {
      validity,
      children: this.children.map((child, i) => child.read(structChild(vector, i), length)),
    };
  }

  append(source: NestedSource, start: number, count: number): void {
    this.validity.appendFrom(source.validity, start, count);
    const scale = this.arraySize ?? 1;
    this.children.forEach((child, i) => {
      child.append(source.children[i], start * scale, count * scale);
    });
    this.length += count;
  }

  finish(): Data {
    const length = this.length;
    this.length = 0;
    const children = this.children.map((child) => child.finish());
    const validity = this.validity.finish();
    if (this.arraySize !== null) {
      return makeData({
        type: this.mapping.arrowType,
        length,
        ...validity,
        child: children[0],
      } as never);
    }
    return makeData({ type: this.mapping.arrowType as Struct, length, ...validity, children });
  }
}

/** SQLNULL: only a length. */
class NullBuilder implements ColumnBuilder<null> {
  private length = 0;
  readonly byteLength = 0;

  constructor(private readonly mapping: ArrowMapping) {}

  read(): null {
    return null;
  }

  append(_source: null, _start: number, count: number): void {
    this.length += count;
  }

  finish(): Data {
    const length = this.length;
    this.length = 0;
    return makeData({ type: this.mapping.arrowType, length } as never);
  }
}

/**
 * The builder for one column, chosen by the mapping's encoding alone. `capacity`
 * is the expected rows per batch, so the fast path seldom reallocates.
 */
export function createColumnBuilder(mapping: ArrowMapping, capacity: number): ColumnBuilder {
  switch (mapping.encoding) {
    case "copy":
      return new CopyBuilder(mapping, capacity);
    case "boolean":
      return new BooleanBuilder(mapping, capacity);
    case "decimal":
      return new DecimalBuilder(mapping, mapping.sourceBytes, capacity);
    case "interval":
      return new IntervalBuilder(mapping, capacity);
    case "enum":
      return new EnumBuilder(mapping, capacity);
    case "string":
    case "render":
    case "bytes":
      return new VariableBuilder(mapping, capacity);
    case "list":
      return new ListBuilder(mapping, createColumnBuilder(mapping.child, capacity), capacity);
    case "map":
      return new ListBuilder(mapping, createColumnBuilder(mapping.entries, capacity), capacity);
    case "array":
      return new NestedBuilder(
        mapping,
        [createColumnBuilder(mapping.child, capacity * mapping.size)],
        mapping.size,
        capacity,
      );
    case "struct":
      return new NestedBuilder(
        mapping,
        mapping.children.map((child) => createColumnBuilder(child, capacity)),
        null,
        capacity,
      );
    case "null":
      return new NullBuilder(mapping);
  }
}
