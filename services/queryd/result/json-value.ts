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
import { isoDate, isoTime, isoTimestamp } from "./iso-datetime.js";

/** A value JSON.stringify writes as is. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** An object without a prototype, so a key named `__proto__` stays a plain key. */
export function jsonObject(): { [key: string]: JsonValue } {
  return Object.create(null) as { [key: string]: JsonValue };
}

/** JSON has no NaN or infinities: those become strings, like BIGINT does. */
function jsonNumber(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

function timestampText(
  finite: boolean,
  text: string,
  units: bigint,
  perSecond: bigint,
  utc: boolean,
): string {
  return finite ? isoTimestamp(units, perSecond, utc) : text;
}

/**
 * The JSON form of one non-NULL DuckDB value, chosen by its DuckDB type (never
 * by the JavaScript value): integers wider than 32 bits, DECIMAL and BIGNUM as
 * strings so no precision is lost, dates and timestamps as ISO-8601 (`infinity`
 * and `-infinity` as DuckDB writes them), BLOB as base64, INTERVAL as
 * `{months, days, micros}` with micros a string, MAP as `[{key, value}]`
 * (keys need not be strings), UNION as `{tag: value}`, nested types nested.
 */
export function jsonValueFor(value: DuckDBValue, type: DuckDBType): JsonValue {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return value as boolean;
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return value as number;
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return jsonNumber(value as number);
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return (value as bigint).toString();
    case DuckDBTypeId.DECIMAL:
      return (value as DuckDBDecimalValue).toString();
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
      return value as string;
    case DuckDBTypeId.BLOB:
      return Buffer.from((value as DuckDBBlobValue).bytes).toString("base64");
    case DuckDBTypeId.GEOMETRY:
      return Buffer.from((value as DuckDBGeometryValue).bytes).toString("base64");
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.BIT:
    case DuckDBTypeId.TIME_TZ:
      return (value as DuckDBUUIDValue | DuckDBBitValue | DuckDBTimeTZValue).toString();
    case DuckDBTypeId.DATE: {
      const date = value as DuckDBDateValue;
      return date.isFinite ? isoDate(date.days) : date.days > 0 ? "infinity" : "-infinity";
    }
    case DuckDBTypeId.TIME:
      return isoTime((value as DuckDBTimeValue).micros, 1_000_000n);
    case DuckDBTypeId.TIME_NS:
      return isoTime((value as DuckDBTimeNSValue).nanos, 1_000_000_000n);
    case DuckDBTypeId.TIMESTAMP_S: {
      const v = value as DuckDBTimestampSecondsValue;
      return timestampText(v.isFinite, v.toString(), v.seconds, 1n, false);
    }
    case DuckDBTypeId.TIMESTAMP_MS: {
      const v = value as DuckDBTimestampMillisecondsValue;
      return timestampText(v.isFinite, v.toString(), v.millis, 1000n, false);
    }
    case DuckDBTypeId.TIMESTAMP: {
      const v = value as DuckDBTimestampValue;
      return timestampText(v.isFinite, v.toString(), v.micros, 1_000_000n, false);
    }
    case DuckDBTypeId.TIMESTAMP_NS: {
      const v = value as DuckDBTimestampNanosecondsValue;
      return timestampText(v.isFinite, v.toString(), v.nanos, 1_000_000_000n, false);
    }
    case DuckDBTypeId.TIMESTAMP_TZ: {
      const v = value as DuckDBTimestampTZValue;
      return timestampText(v.isFinite, v.toString(), v.micros, 1_000_000n, true);
    }
    case DuckDBTypeId.INTERVAL: {
      const v = value as DuckDBIntervalValue;
      return { months: v.months, days: v.days, micros: v.micros.toString() };
    }
    case DuckDBTypeId.LIST:
      return (value as DuckDBListValue).items.map((item) => jsonValueFor(item, type.valueType));
    case DuckDBTypeId.ARRAY:
      return (value as DuckDBArrayValue).items.map((item) => jsonValueFor(item, type.valueType));
    case DuckDBTypeId.STRUCT: {
      const entries = (value as DuckDBStructValue).entries;
      const object = jsonObject();
      type.entryNames.forEach((name, i) => {
        const entryType = type.entryTypes[i];
        const entry = Object.hasOwn(entries, name) ? (entries[name] ?? null) : null;
        object[name] = entryType ? jsonValueFor(entry, entryType) : null;
      });
      return object;
    }
    case DuckDBTypeId.MAP:
      return (value as DuckDBMapValue).entries.map((entry) => ({
        key: jsonValueFor(entry.key, type.keyType),
        value: jsonValueFor(entry.value, type.valueType),
      }));
    case DuckDBTypeId.UNION: {
      const union = value as DuckDBUnionValue;
      const memberType = type.memberTypes[type.tagMemberIndexes[union.tag] ?? -1];
      const object = jsonObject();
      object[union.tag] = memberType ? jsonValueFor(union.value, memberType) : null;
      return object;
    }
    case DuckDBTypeId.VARIANT: {
      const variant = value as DuckDBVariantValue;
      return variant.type ? jsonValueFor(variant.value, variant.type) : variant.toString();
    }
    case DuckDBTypeId.SQLNULL:
      return null;
    case DuckDBTypeId.ANY:
    case DuckDBTypeId.STRING_LITERAL:
    case DuckDBTypeId.INTEGER_LITERAL:
      throw new Error(`DuckDB type ${type.toString()} cannot appear in a query result`);
  }
}
