import { Code } from "@connectrpc/connect";
import {
  ARRAY,
  BIGINT,
  BLOB,
  BOOLEAN,
  DECIMAL,
  DOUBLE,
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructType,
  DuckDBStructValue,
  type DuckDBType,
  type DuckDBValue,
  FLOAT,
  INTEGER,
  LIST,
  MAP,
  SMALLINT,
  TINYINT,
  UBIGINT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  VARCHAR,
} from "@duckdb/node-api";
import { type Data, DataType, type Field, type Vector } from "apache-arrow";
import { serviceError } from "../kit/errors.js";
import {
  boolAt,
  decimalAt,
  fixedBytesAt,
  float16At,
  int64At,
  offsetRange,
  utf8Text,
  variableBytesAt,
  viewBytesAt,
} from "./arrow-buffer-read.js";
import { type ArrowConversion, arrowConversion } from "./arrow-conversion.js";
import { temporalConversion } from "./arrow-temporal-conversion.js";

/** What a column of Arrow type `Null` becomes: DuckDB's own type for an untyped NULL. */
const NULL_COLUMN_TYPE: DuckDBType = INTEGER;

/** DuckDB's DECIMAL holds at most 38 digits. */
const MAX_DECIMAL_PRECISION = 38;
/** DuckDB's ARRAY (fixed-size list) sizes. */
const MAX_ARRAY_SIZE = 100_000;

/** The DuckDB integer of the same width and sign, keyed by `${bitWidth}${signed}`. */
const INTEGERS: Record<string, DuckDBType> = {
  "8true": TINYINT,
  "8false": UTINYINT,
  "16true": SMALLINT,
  "16false": USMALLINT,
  "32true": INTEGER,
  "32false": UINTEGER,
  "64true": BIGINT,
  "64false": UBIGINT,
};

/** Finds entry `key` of a dictionary that arrived in one or more chunks (deltas). */
function dictionaryEntry(dictionary: Vector | undefined, key: number): [Data, number] {
  let rest = key;
  for (const chunk of dictionary?.data ?? []) {
    if (rest < chunk.length) return [chunk, rest];
    rest -= chunk.length;
  }
  throw new Error(`Arrow dictionary key ${key} has no dictionary entry`);
}

/** The DuckDB value of each child slot in [begin, end). */
function readRange(items: ArrowConversion, child: Data, begin: number, end: number) {
  const values: DuckDBValue[] = [];
  for (let j = begin; j < end; j++) values.push(items.read(child, j));
  return values;
}

/**
 * The explicit Arrow → DuckDB type table, applied to the column `field` and recursively
 * to the types nested in it. A type outside the table is refused rather than guessed,
 * and a value its DuckDB type (or the Parquet file written from it) cannot hold exactly
 * is refused rather than changed, so a converted file holds exactly what was uploaded.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason UNSUPPORTED_ARROW_TYPE, naming the column
 *   and its type, when the type or a type nested in it has no exact DuckDB counterpart.
 *   The conversion's `read` throws INVALID_ARGUMENT, reason UNREPRESENTABLE_ARROW_VALUE,
 *   naming the column, for a value outside its DuckDB type.
 */
export function arrowColumnConversion(field: Field): ArrowConversion {
  const columnType = String(field.type);
  const details = { column: field.name, type: columnType };
  const refuseType = (type: DataType, why: string): never => {
    throw serviceError(
      Code.InvalidArgument,
      "UNSUPPORTED_ARROW_TYPE",
      `Arrow column "${field.name}" has type ${columnType}, which cannot be ingested: ${String(type)} ${why}`,
      details,
    );
  };
  const refuseValue = (why: string): Error =>
    serviceError(
      Code.InvalidArgument,
      "UNREPRESENTABLE_ARROW_VALUE",
      `Arrow column "${field.name}" (${columnType}) holds ${why}`,
      details,
    );

  const convert = (type: DataType): ArrowConversion => {
    const temporal = temporalConversion(type, refuseValue);
    if (temporal) return temporal;
    if (DataType.isNull(type)) return { type: NULL_COLUMN_TYPE, read: () => null };
    if (DataType.isDictionary(type)) {
      const values = convert(type.dictionary);
      return arrowConversion(values.type, (d, i) =>
        values.read(...dictionaryEntry(d.dictionary, Number(d.values[i]))),
      );
    }
    if (DataType.isInt(type)) {
      const duckdbType = INTEGERS[`${type.bitWidth}${type.isSigned}`];
      if (!duckdbType) return refuseType(type, "has no exact DuckDB type");
      if (type.bitWidth < 64) return arrowConversion(duckdbType, (d, i) => d.values[i] as number);
      return type.isSigned
        ? arrowConversion(duckdbType, int64At)
        : arrowConversion(duckdbType, (d, i) => BigInt.asUintN(64, int64At(d, i)));
    }
    if (DataType.isFloat(type)) {
      // Precision 0 is half precision: every half-precision value is exact as a FLOAT.
      if (type.precision === 0) return arrowConversion(FLOAT, float16At);
      return arrowConversion(type.precision === 1 ? FLOAT : DOUBLE, (d, i) => d.values[i]);
    }
    if (DataType.isBool(type)) return arrowConversion(BOOLEAN, boolAt);
    if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) {
      return arrowConversion(VARCHAR, (d, i) => utf8Text(variableBytesAt(d, i)));
    }
    if (DataType.isUtf8View(type)) {
      return arrowConversion(VARCHAR, (d, i) => utf8Text(viewBytesAt(d, i)));
    }
    if (DataType.isBinary(type) || DataType.isLargeBinary(type)) {
      return arrowConversion(BLOB, (d, i) => new DuckDBBlobValue(variableBytesAt(d, i)));
    }
    if (DataType.isBinaryView(type)) {
      return arrowConversion(BLOB, (d, i) => new DuckDBBlobValue(viewBytesAt(d, i)));
    }
    if (DataType.isFixedSizeBinary(type)) {
      return arrowConversion(BLOB, (d, i) => new DuckDBBlobValue(fixedBytesAt(d, i)));
    }
    if (DataType.isDecimal(type)) {
      const { precision, scale } = type;
      if (precision < 1 || precision > MAX_DECIMAL_PRECISION) {
        return refuseType(type, `has more than DuckDB's ${MAX_DECIMAL_PRECISION} digits`);
      }
      if (scale < 0 || scale > precision) {
        return refuseType(type, "has a scale outside 0 to its precision");
      }
      const limit = 10n ** BigInt(precision);
      return arrowConversion(DECIMAL(precision, scale), (d, i) => {
        const value = decimalAt(d, i);
        if (value >= limit || value <= -limit) {
          throw refuseValue(`${value}e-${scale}, more digits than its precision ${precision}`);
        }
        return new DuckDBDecimalValue(value, precision, scale);
      });
    }
    if (DataType.isList(type) || DataType.isLargeList(type)) {
      const items = convert(type.children[0]?.type as DataType);
      return arrowConversion(LIST(items.type), (d, i) => {
        const [begin, end] = offsetRange(d, i);
        return new DuckDBListValue(readRange(items, d.children[0] as Data, begin, end));
      });
    }
    if (DataType.isFixedSizeList(type)) {
      const size = type.listSize;
      if (size < 1 || size > MAX_ARRAY_SIZE) {
        return refuseType(type, `has a size outside DuckDB's ARRAY sizes 1 to ${MAX_ARRAY_SIZE}`);
      }
      const items = convert(type.children[0]?.type as DataType);
      return arrowConversion(ARRAY(items.type, size), (d, i) => {
        const child = d.children[0] as Data;
        return new DuckDBArrayValue(readRange(items, child, i * size, (i + 1) * size));
      });
    }
    if (DataType.isStruct(type)) {
      const names = type.children.map((child) => child.name);
      const folded = new Set(names.map((name) => name.toLowerCase()));
      // DuckDB's STRUCT field names are non-empty and unique regardless of letter case.
      if (names.length === 0 || names.includes("") || folded.size !== names.length) {
        return refuseType(type, "needs fields with non-empty names that differ beyond letter case");
      }
      const fields = type.children.map((child) => convert(child.type));
      const structType = new DuckDBStructType(
        names,
        fields.map((f) => f.type),
      );
      return arrowConversion(structType, (d, i) => {
        const entries = fields.map((f, k) => [names[k], f.read(d.children[k] as Data, i)]);
        return new DuckDBStructValue(Object.fromEntries(entries));
      });
    }
    if (DataType.isMap(type)) {
      const entryType = type.children[0]?.type as DataType;
      const keys = convert(entryType.children[0]?.type as DataType);
      const values = convert(entryType.children[1]?.type as DataType);
      return arrowConversion(MAP(keys.type, values.type), (d, i) => {
        const [begin, end] = offsetRange(d, i);
        const [keyData, valueData] = (d.children[0] as Data).children as [Data, Data];
        const seen = new Set<string>();
        const entries = [];
        for (let j = begin; j < end; j++) {
          const key = keys.read(keyData, j);
          // DuckDB's MAP needs present, distinct keys; Arrow enforces neither.
          if (key === null) throw refuseValue("a map entry with a NULL key");
          const identity = typeof key === "object" ? key.toString() : `${typeof key}:${key}`;
          if (seen.has(identity)) throw refuseValue(`a map with the key ${String(key)} twice`);
          seen.add(identity);
          entries.push({ key, value: values.read(valueData, j) });
        }
        return new DuckDBMapValue(entries);
      });
    }
    return refuseType(type, "has no exact DuckDB type");
  };

  return convert(field.type as DataType);
}
