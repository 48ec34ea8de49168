import type { DuckDBType } from "@duckdb/node-api";
import { DuckDBTypeId } from "@duckdb/node-api";
import {
  Binary,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Dictionary,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  IntervalMonthDayNano,
  List,
  Map_,
  Null,
  Schema,
  Struct,
  TimeMicrosecond,
  TimeNanosecond,
  Timestamp,
  TimeUnit,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
} from "apache-arrow";

/**
 * How one DuckDB type becomes one Arrow type: the Arrow type, plus how the
 * DuckDB vector's bytes turn into Arrow buffers. The builders switch on
 * `encoding` alone, so this table is the single place where the mapping lives.
 *
 * - `copy`: DuckDB and Arrow share the same fixed-width little-endian layout;
 *   the bytes are copied as they are (the fast path).
 * - `boolean`: DuckDB keeps one byte per value, Arrow one bit.
 * - `decimal`: DuckDB keeps DECIMAL in 2, 4, 8 or 16 bytes by width; Arrow
 *   Decimal128 always takes 16, so narrower values are sign-extended.
 * - `interval`: DuckDB keeps microseconds, Arrow MonthDayNano nanoseconds.
 * - `string`: DuckDB string_t values into Utf8 (VARCHAR) or Binary (BLOB).
 * - `render`: types no Arrow reader shares a layout with, written as text.
 * - `bytes`: types rendered as their raw bytes into Binary.
 * - `enum`, `list`, `map`, `array`, `struct`, `null`: as named.
 */
export type ArrowMapping =
  | { encoding: "copy"; duckdbType: DuckDBType; arrowType: DataType; byteWidth: number }
  | { encoding: "boolean"; duckdbType: DuckDBType; arrowType: Bool }
  | { encoding: "decimal"; duckdbType: DuckDBType; arrowType: Decimal; sourceBytes: 2 | 4 | 8 | 16 }
  | { encoding: "interval"; duckdbType: DuckDBType; arrowType: IntervalMonthDayNano }
  | { encoding: "string"; duckdbType: DuckDBType; arrowType: Utf8 | Binary }
  | { encoding: "render"; duckdbType: DuckDBType; arrowType: Utf8 }
  | { encoding: "bytes"; duckdbType: DuckDBType; arrowType: Binary }
  | {
      encoding: "enum";
      duckdbType: DuckDBType;
      arrowType: Dictionary<Utf8, Int16 | Int32>;
      values: readonly string[];
      sourceBytes: 1 | 2 | 4;
    }
  | { encoding: "list"; duckdbType: DuckDBType; arrowType: List; child: ArrowMapping }
  | { encoding: "map"; duckdbType: DuckDBType; arrowType: Map_; entries: ArrowMapping }
  | {
      encoding: "array";
      duckdbType: DuckDBType;
      arrowType: FixedSizeList;
      child: ArrowMapping;
      size: number;
    }
  | { encoding: "struct"; duckdbType: DuckDBType; arrowType: Struct; children: ArrowMapping[] }
  | { encoding: "null"; duckdbType: DuckDBType; arrowType: Null };

/** Arrow's conventional name for the element field of a list. */
const LIST_ITEM = "item";

function copy(duckdbType: DuckDBType, arrowType: DataType, byteWidth: number): ArrowMapping {
  return { encoding: "copy", duckdbType, arrowType, byteWidth };
}

function render(duckdbType: DuckDBType): ArrowMapping {
  return { encoding: "render", duckdbType, arrowType: new Utf8() };
}

/** DuckDB stores DECIMAL(w,s) in the narrowest integer holding w digits. */
function decimalSourceBytes(width: number): 2 | 4 | 8 | 16 {
  if (width <= 4) return 2;
  if (width <= 9) return 4;
  if (width <= 18) return 8;
  return 16;
}

/** The byte width of an ENUM's index, from the size of its dictionary. */
function enumSourceBytes(internalTypeId: DuckDBTypeId): 1 | 2 | 4 {
  if (internalTypeId === DuckDBTypeId.UTINYINT) return 1;
  if (internalTypeId === DuckDBTypeId.USMALLINT) return 2;
  return 4;
}

/**
 * The one DuckDB → Arrow type table. Every result column goes through it, so a
 * type is never guessed from a JavaScript value. Every field is nullable and
 * carries its validity, except a MAP's keys, which Arrow requires non-null
 * (DuckDB refuses NULL map keys too).
 *
 * Choices where Arrow has no exact twin:
 * - HUGEINT, UHUGEINT, BIGNUM → Utf8 decimal text. Decimal128(38,0) holds 38
 *   digits while HUGEINT reaches 39, and a 16-byte binary is exact but opaque
 *   to every reader; text is exact and readable by all of them.
 * - UUID → Utf8 in the canonical 8-4-4-4-12 form, as DuckDB's own Arrow
 *   export does, so pyarrow and DuckDB read it back as a UUID string.
 * - TIME WITH TIME ZONE → Utf8 as DuckDB prints it (`12:00:00+02`): Arrow's
 *   Time has no zone, and converting to UTC would drop the offset.
 * - UNION, VARIANT → Utf8 holding the value as JSON text (`{"tag":value}` for
 *   a union), the same rendering as JSON rows; a dense union is not read back
 *   by DuckDB's Arrow scanner.
 * - BIT → Utf8 of `0`/`1` characters. GEOMETRY → Binary (its WKB bytes).
 * - ENUM → Dictionary(Utf8) whose dictionary is the enum's value list, with
 *   signed indices (Int16 for up to 255 members, Int32 otherwise) because the
 *   Arrow format recommends signed dictionary indices.
 */
export function arrowMappingFor(duckdbType: DuckDBType): ArrowMapping {
  const t = duckdbType;
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return { encoding: "boolean", duckdbType: t, arrowType: new Bool() };
    case DuckDBTypeId.TINYINT:
      return copy(t, new Int8(), 1);
    case DuckDBTypeId.SMALLINT:
      return copy(t, new Int16(), 2);
    case DuckDBTypeId.INTEGER:
      return copy(t, new Int32(), 4);
    case DuckDBTypeId.BIGINT:
      return copy(t, new Int64(), 8);
    case DuckDBTypeId.UTINYINT:
      return copy(t, new Uint8(), 1);
    case DuckDBTypeId.USMALLINT:
      return copy(t, new Uint16(), 2);
    case DuckDBTypeId.UINTEGER:
      return copy(t, new Uint32(), 4);
    case DuckDBTypeId.UBIGINT:
      return copy(t, new Uint64(), 8);
    case DuckDBTypeId.FLOAT:
      return copy(t, new Float32(), 4);
    case DuckDBTypeId.DOUBLE:
      return copy(t, new Float64(), 8);
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return render(t);
    case DuckDBTypeId.DECIMAL:
      return {
        encoding: "decimal",
        duckdbType: t,
        arrowType: new Decimal(t.scale, t.width, 128),
        sourceBytes: decimalSourceBytes(t.width),
      };
    case DuckDBTypeId.VARCHAR:
      return { encoding: "string", duckdbType: t, arrowType: new Utf8() };
    case DuckDBTypeId.BLOB:
      return { encoding: "string", duckdbType: t, arrowType: new Binary() };
    case DuckDBTypeId.DATE:
      return copy(t, new DateDay(), 4);
    case DuckDBTypeId.TIME:
      return copy(t, new TimeMicrosecond(), 8);
    case DuckDBTypeId.TIME_NS:
      return copy(t, new TimeNanosecond(), 8);
    case DuckDBTypeId.TIME_TZ:
      return render(t);
    case DuckDBTypeId.TIMESTAMP_S:
      return copy(t, new Timestamp(TimeUnit.SECOND), 8);
    case DuckDBTypeId.TIMESTAMP_MS:
      return copy(t, new Timestamp(TimeUnit.MILLISECOND), 8);
    case DuckDBTypeId.TIMESTAMP:
      return copy(t, new Timestamp(TimeUnit.MICROSECOND), 8);
    case DuckDBTypeId.TIMESTAMP_NS:
      return copy(t, new Timestamp(TimeUnit.NANOSECOND), 8);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return copy(t, new Timestamp(TimeUnit.MICROSECOND, "UTC"), 8);
    case DuckDBTypeId.INTERVAL:
      return { encoding: "interval", duckdbType: t, arrowType: new IntervalMonthDayNano() };
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.BIT:
    case DuckDBTypeId.UNION:
    case DuckDBTypeId.VARIANT:
      return render(t);
    case DuckDBTypeId.GEOMETRY:
      return { encoding: "bytes", duckdbType: t, arrowType: new Binary() };
    case DuckDBTypeId.ENUM: {
      const sourceBytes = enumSourceBytes(t.internalTypeId);
      const indices = sourceBytes === 1 ? new Int16() : new Int32();
      return {
        encoding: "enum",
        duckdbType: t,
        arrowType: new Dictionary(new Utf8(), indices),
        values: t.values,
        sourceBytes,
      };
    }
    case DuckDBTypeId.LIST: {
      const child = arrowMappingFor(t.valueType);
      const arrowType = new List(new Field(LIST_ITEM, child.arrowType, true));
      return { encoding: "list", duckdbType: t, arrowType, child };
    }
    case DuckDBTypeId.ARRAY: {
      const child = arrowMappingFor(t.valueType);
      const arrowType = new FixedSizeList(t.length, new Field(LIST_ITEM, child.arrowType, true));
      return { encoding: "array", duckdbType: t, arrowType, child, size: t.length };
    }
    case DuckDBTypeId.STRUCT: {
      const children = t.entryTypes.map((entryType) => arrowMappingFor(entryType));
      const fields = children.map(
        (child, i) => new Field(t.entryNames[i] ?? `f${i}`, child.arrowType, true),
      );
      return { encoding: "struct", duckdbType: t, arrowType: new Struct(fields), children };
    }
    case DuckDBTypeId.MAP: {
      const key = arrowMappingFor(t.keyType);
      const value = arrowMappingFor(t.valueType);
      const entriesType = new Struct([
        new Field("key", key.arrowType, false),
        new Field("value", value.arrowType, true),
      ]);
      const entries: ArrowMapping = {
        encoding: "struct",
        duckdbType: t,
        arrowType: entriesType,
        children: [key, value],
      };
      const arrowType = new Map_(new Field("entries", entriesType, false), false);
      return { encoding: "map", duckdbType: t, arrowType, entries };
    }
    case DuckDBTypeId.SQLNULL:
      return { encoding: "null", duckdbType: t, arrowType: new Null() };
    case DuckDBTypeId.ANY:
    case DuckDBTypeId.STRING_LITERAL:
    case DuckDBTypeId.INTEGER_LITERAL:
      throw new Error(`DuckDB type ${t.toString()} cannot appear in a query result`);
  }
}

/** The Arrow type of a DuckDB type, from the one mapping table. */
export function arrowTypeFor(duckdbType: DuckDBType): DataType {
  return arrowMappingFor(duckdbType).arrowType;
}

/** A result's Arrow schema together with the per-column mappings that fill it. */
export interface ArrowResultLayout {
  readonly schema: Schema;
  readonly columns: readonly ArrowMapping[];
}

/**
 * The Arrow schema of a result, one nullable field per column in order, built
 * from the same mapping objects the batch builders use: a Dictionary type
 * carries its dictionary id, so schema and batches must share the instances.
 */
export function arrowLayoutFor(
  columnNames: readonly string[],
  columnTypes: readonly DuckDBType[],
): ArrowResultLayout {
  const columns = columnTypes.map((type) => arrowMappingFor(type));
  const fields = columns.map(
    (column, i) => new Field(columnNames[i] ?? `column${i}`, column.arrowType, true),
  );
  return { schema: new Schema(fields), columns };
}
