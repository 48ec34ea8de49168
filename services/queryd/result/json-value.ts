import type {
  DuckDBArrayValue,
  DuckDBBitValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBGeometryValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimeNSValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeTZValue,
  DuckDBTimeValue,
  DuckDBType,
  DuckDBUnionValue,
  DuckDBUUIDValue,
  DuckDBValue,
  DuckDBVariantValue,
} from "@duckdb/node-api";
import { DuckDBTypeId } from "@duckdb/node-api";
import { shortestFloat32 } from "../../kit/float32-text.js";
import { isoDate, isoTime, isoTimestamp } from "./iso-datetime.js";

/** A value JSON.stringify writes as is. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * Writes one value of a fixed DuckDB type as JSON text. Chosen once per
 * column, so rows pay no per-value type dispatch.
 */
export type JsonWriter = (value: DuckDBValue) => string;

/** Writes values known to be non-NULL. */
type NonNullWriter = (value: NonNullable<DuckDBValue>) => string;

function nullable(write: NonNullWriter): JsonWriter {
  return (value) => (value === null ? "null" : write(value));
}

/** Text made only of digits, signs, `.`, `:`, `-` and letters (numbers, ISO-8601, base64) needs no escaping. */
function quoted(text: string): string {
  return `"${text}"`;
}

/** JSON has no NaN or infinities: those become strings, like BIGINT does. */
function jsonNumber(value: number): string {
  if (Object.is(value, -0)) return "-0";
  return Number.isFinite(value) ? String(value) : quoted(String(value));
}

/** ISO-8601 for finite timestamps; DuckDB's own text (only then computed) for the infinities. */
function timestampText(
  value: { readonly isFinite: boolean; toString(): string },
  units: bigint,
  perSecond: bigint,
  utc: boolean,
): string {
  return value.isFinite
    ? quoted(isoTimestamp(units, perSecond, utc))
    : JSON.stringify(value.toString());
}

/** Writes one JSON object from the value of each member, looked up by member index. */
export type JsonObjectWriter = (valueAt: (index: number) => DuckDBValue) => string;

/**
 * The writer of JSON objects with these member names and DuckDB types, members
 * written in this order and each name once per position: JavaScript objects
 * would merge repeated names (`SELECT *` over a join) and move integer-like
 * names (`"0"`) first, so rows and STRUCTs are written as text instead.
 */
export function createJsonObjectWriter(
  names: readonly string[],
  types: readonly DuckDBType[],
): JsonObjectWriter {
  const prefixes = names.map((name, i) => `${i === 0 ? "{" : ","}${JSON.stringify(name)}:`);
  const writers = types.map(jsonWriterFor);
  return (valueAt) => {
    let text = "";
    for (let i = 0; i < writers.length; i++) {
      const write = writers[i] as JsonWriter;
      text += `${prefixes[i]}${write(valueAt(i))}`;
    }
    return text === "" ? "{}" : `${text}}`;
  };
}

/**
 * The JSON writer for values of one DuckDB type, chosen by that type (never by
 * the JavaScript value): integers wider than 32 bits, DECIMAL and BIGNUM as
 * strings so no precision is lost, dates and timestamps as ISO-8601 (`infinity`
 * and `-infinity` as DuckDB writes them), BLOB as base64, INTERVAL as
 * `{months, days, micros}` with micros a string, MAP as `[{key, value}]`
 * (keys need not be strings), UNION as `{tag: value}`, STRUCT as an object
 * with its fields in declared order, nested types nested. SQL NULL is `null`
 * at every level.
 */
export function jsonWriterFor(type: DuckDBType): JsonWriter {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return nullable((value) => (value ? "true" : "false"));
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return nullable((value) => String(value as number));
    case DuckDBTypeId.FLOAT:
      return nullable((value) => jsonNumber(shortestFloat32(value as number)));
    case DuckDBTypeId.DOUBLE:
      return nullable((value) => jsonNumber(value as number));
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return nullable((value) => quoted((value as bigint).toString()));
    case DuckDBTypeId.DECIMAL:
      return nullable((value) => quoted((value as DuckDBDecimalValue).toString()));
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
      return nullable((value) => JSON.stringify(value as string));
    case DuckDBTypeId.BLOB:
      return nullable((value) =>
        quoted(Buffer.from((value as DuckDBBlobValue).bytes).toString("base64")),
      );
    case DuckDBTypeId.GEOMETRY:
      return nullable((value) =>
        quoted(Buffer.from((value as DuckDBGeometryValue).bytes).toString("base64")),
      );
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.BIT:
    case DuckDBTypeId.TIME_TZ:
      return nullable((value) =>
        JSON.stringify((value as DuckDBUUIDValue | DuckDBBitValue | DuckDBTimeTZValue).toString()),
      );
    case DuckDBTypeId.DATE:
      return nullable((value) => {
        const date = value as DuckDBDateValue;
        return quoted(
          date.isFinite ? isoDate(date.days) : date.days > 0 ? "infinity" : "-infinity",
        );
      });
    case DuckDBTypeId.TIME:
      return nullable((value) => quoted(isoTime((value as DuckDBTimeValue).micros, 1_000_000n)));
    case DuckDBTypeId.TIME_NS:
      return nullable((value) =>
        quoted(isoTime((value as DuckDBTimeNSValue).nanos, 1_000_000_000n)),
      );
    case DuckDBTypeId.TIMESTAMP_S:
      return nullable((value) => {
        const v = value as DuckDBTimestampSecondsValue;
        return timestampText(v, v.seconds, 1n, false);
      });
    case DuckDBTypeId.TIMESTAMP_MS:
      return nullable((value) => {
        const v = value as DuckDBTimestampMillisecondsValue;
        return timestampText(v, v.millis, 1000n, false);
      });
    case DuckDBTypeId.TIMESTAMP:
      return nullable((value) => {
        const v = value as DuckDBTimestampValue;
        return timestampText(v, v.micros, 1_000_000n, false);
      });
    case DuckDBTypeId.TIMESTAMP_NS:
      return nullable((value) => {
        const v = value as DuckDBTimestampNanosecondsValue;
        return timestampText(v, v.nanos, 1_000_000_000n, false);
      });
    case DuckDBTypeId.TIMESTAMP_TZ:
      return nullable((value) => {
        const v = value as DuckDBTimestampTZValue;
        return timestampText(v, v.micros, 1_000_000n, true);
      });
    case DuckDBTypeId.INTERVAL:
      return nullable((value) => {
        const v = value as DuckDBIntervalValue;
        return `{"months":${v.months},"days":${v.days},"micros":${quoted(v.micros.toString())}}`;
      });
    case DuckDBTypeId.LIST: {
      const item = jsonWriterFor(type.valueType);
      return nullable((value) => `[${(value as DuckDBListValue).items.map(item).join(",")}]`);
    }
    case DuckDBTypeId.ARRAY: {
      const item = jsonWriterFor(type.valueType);
      return nullable((value) => `[${(value as DuckDBArrayValue).items.map(item).join(",")}]`);
    }
    case DuckDBTypeId.STRUCT: {
      const names = type.entryNames;
      const writeObject = createJsonObjectWriter(names, type.entryTypes);
      return nullable((value) => {
        const entries = (value as DuckDBStructValue).entries;
        return writeObject((i) => {
          const name = names[i] as string;
          return Object.hasOwn(entries, name) ? (entries[name] ?? null) : null;
        });
      });
    }
    case DuckDBTypeId.MAP: {
      const key = jsonWriterFor(type.keyType);
      const mapValue = jsonWriterFor(type.valueType);
      return nullable((value) => {
        const entries = (value as DuckDBMapValue).entries.map(
          (entry) => `{"key":${key(entry.key)},"value":${mapValue(entry.value)}}`,
        );
        return `[${entries.join(",")}]`;
      });
    }
    case DuckDBTypeId.UNION: {
      const members = type.memberTypes.map(jsonWriterFor);
      return nullable((value) => {
        const union = value as DuckDBUnionValue;
        const member = members[type.tagMemberIndexes[union.tag] ?? -1];
        return `{${JSON.stringify(union.tag)}:${member ? member(union.value) : "null"}}`;
      });
    }
    case DuckDBTypeId.VARIANT:
      return nullable((value) => {
        const variant = value as DuckDBVariantValue;
        return variant.type
          ? jsonWriterFor(variant.type)(variant.value)
          : JSON.stringify(variant.toString());
      });
    case DuckDBTypeId.SQLNULL:
      return () => "null";
    case DuckDBTypeId.ANY:
    case DuckDBTypeId.STRING_LITERAL:
    case DuckDBTypeId.INTEGER_LITERAL:
      return nullable(() => {
        throw new Error(`DuckDB type ${type.toString()} cannot appear in a query result`);
      });
  }
}

/** The JSON text of one DuckDB value of this type (see {@link jsonWriterFor}). */
export function jsonTextFor(value: DuckDBValue, type: DuckDBType): string {
  return jsonWriterFor(type)(value);
}

/**
 * One DuckDB value as a JavaScript value, for code that needs it parsed
 * (see {@link jsonWriterFor}). Object members follow JavaScript's key order,
 * so use {@link jsonTextFor} where the text is what is wanted.
 */
export function jsonValueFor(value: DuckDBValue, type: DuckDBType): JsonValue {
  return JSON.parse(jsonTextFor(value, type)) as JsonValue;
}
