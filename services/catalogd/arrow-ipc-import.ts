import { open } from "node:fs/promises";
import { Code } from "@connectrpc/connect";
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
} from "@duckdb/node-api";
import {
  type Data,
  DataType,
  DateUnit,
  type Field,
  RecordBatchReader,
  TimeUnit,
  Vector,
} from "apache-arrow";
import { serviceError } from "../kit/errors.js";
import { sqlIdentifier } from "../kit/sql-text.js";

/** How one Arrow column becomes one DuckDB column. */
interface ColumnImport {
  /** The DuckDB column type. */
  readonly sqlType: string;
  /** Appends the non-NULL value at `row` of `data` (read through `vector` where exact). */
  append(appender: DuckDBAppender, data: Data, vector: Vector, row: number): void;
}

const MICROS_PER_UNIT: Record<TimeUnit, [bigint, bigint]> = {
  [TimeUnit.SECOND]: [1_000_000n, 1n],
  [TimeUnit.MILLISECOND]: [1_000n, 1n],
  [TimeUnit.MICROSECOND]: [1n, 1n],
  [TimeUnit.NANOSECOND]: [1n, 1_000n],
};

/** Reads the raw 64-bit value at `row`; timestamps keep full precision this way. */
function int64At(data: Data, row: number): bigint {
  return (data.values as BigInt64Array)[data.offset + row] as bigint;
}

/** Reads a 128-bit two's-complement decimal (four little-endian 32-bit words) as a bigint. */
function int128At(data: Data, row: number): bigint {
  const words = data.values as Uint32Array;
  const base = (data.offset + row) * 4;
  let value = 0n;
  for (let i = 3; i >= 0; i--) value = (value << 32n) | BigInt(words[base + i] as number);
  return BigInt.asIntN(128, value);
}

/**
 * The explicit Arrow → DuckDB type table. Types outside it are refused rather than
 * guessed, so a converted file always holds exactly the values that were uploaded.
 */
function columnImport(field: Field): ColumnImport {
  const type = field.type as DataType;
  if (DataType.isDictionary(type)) {
    // Dictionary-encoded strings are common (arrow-js encodes string arrays this way).
    if (!DataType.isUtf8(type.dictionary) && !DataType.isLargeUtf8(type.dictionary)) {
      throw unsupported(field);
    }
    return { sqlType: "VARCHAR", append: (a, _d, v, row) => a.appendVarchar(String(v.get(row))) };
  }
  if (DataType.isInt(type)) {
    switch (type.bitWidth) {
      case 8:
        return type.isSigned
          ? { sqlType: "TINYINT", append: (a, _d, v, row) => a.appendTinyInt(v.get(row) as number) }
          : {
              sqlType: "UTINYINT",
              append: (a, _d, v, row) => a.appendUTinyInt(v.get(row) as number),
            };
      case 16:
        return type.isSigned
          ? {
              sqlType: "SMALLINT",
              append: (a, _d, v, row) => a.appendSmallInt(v.get(row) as number),
            }
          : {
              sqlType: "USMALLINT",
              append: (a, _d, v, row) => a.appendUSmallInt(v.get(row) as number),
            };
      case 32:
        return type.isSigned
          ? { sqlType: "INTEGER", append: (a, _d, v, row) => a.appendInteger(v.get(row) as number) }
          : {
              sqlType: "UINTEGER",
              append: (a, _d, v, row) => a.appendUInteger(v.get(row) as number),
            };
      case 64:
        return type.isSigned
          ? { sqlType: "BIGINT", append: (a, d, _v, row) => a.appendBigInt(int64At(d, row)) }
          : {
              sqlType: "UBIGINT",
              append: (a, d, _v, row) => a.appendUBigInt(BigInt.asUintN(64, int64At(d, row))),
            };
      default:
        throw unsupported(field);
    }
  }
  if (DataType.isFloat(type)) {
    return type.precision === 2
      ? { sqlType: "DOUBLE", append: (a, _d, v, row) => a.appendDouble(v.get(row) as number) }
      : { sqlType: "FLOAT", append: (a, _d, v, row) => a.appendFloat(v.get(row) as number) };
  }
  if (DataType.isBool(type)) {
    return {
      sqlType: "BOOLEAN",
      append: (a, _d, v, row) => a.appendBoolean(v.get(row) as boolean),
    };
  }
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) {
    return { sqlType: "VARCHAR", append: (a, _d, v, row) => a.appendVarchar(v.get(row) as string) };
  }
  if (DataType.isBinary(type) || DataType.isLargeBinary(type)) {
    return { sqlType: "BLOB", append: (a, _d, v, row) => a.appendBlob(v.get(row) as Uint8Array) };
  }
  if (DataType.isDate(type)) {
    return type.unit === DateUnit.DAY
      ? {
          sqlType: "DATE",
          append: (a, d, _v, row) =>
            a.appendDate(new DuckDBDateValue((d.values as Int32Array)[d.offset + row] as number)),
        }
      : {
          sqlType: "DATE",
          append: (a, d, _v, row) =>
            a.appendDate(new DuckDBDateValue(Math.floor(Number(int64At(d, row)) / 86_400_000))),
        };
  }
  if (DataType.isTimestamp(type)) {
    const unit = type.unit as TimeUnit;
    if (type.timezone) {
      const [multiply, divide] = MICROS_PER_UNIT[unit];
      return {
        sqlType: "TIMESTAMP WITH TIME ZONE",
        append: (a, d, _v, row) =>
          a.appendTimestampTZ(new DuckDBTimestampTZValue((int64At(d, row) * multiply) / divide)),
      };
    }
    switch (unit) {
      case TimeUnit.SECOND:
        return {
          sqlType: "TIMESTAMP_S",
          append: (a, d, _v, row) =>
            a.appendTimestampSeconds(new DuckDBTimestampSecondsValue(int64At(d, row))),
        };
      case TimeUnit.MILLISECOND:
        return {
          sqlType: "TIMESTAMP_MS",
          append: (a, d, _v, row) =>
            a.appendTimestampMilliseconds(new DuckDBTimestampMillisecondsValue(int64At(d, row))),
        };
      case TimeUnit.MICROSECOND:
        return {
          sqlType: "TIMESTAMP",
          append: (a, d, _v, row) => a.appendTimestamp(new DuckDBTimestampValue(int64At(d, row))),
        };
      default:
        return {
          sqlType: "TIMESTAMP_NS",
          append: (a, d, _v, row) =>
            a.appendTimestampNanoseconds(new DuckDBTimestampNanosecondsValue(int64At(d, row))),
        };
    }
  }
  if (DataType.isDecimal(type) && type.bitWidth === 128 && type.precision <= 38) {
    const { precision, scale } = type;
    return {
      sqlType: `DECIMAL(${precision},${scale})`,
      append: (a, d, _v, row) =>
        a.appendDecimal(new DuckDBDecimalValue(int128At(d, row), precision, scale)),
    };
  }
  throw unsupported(field);
}

function unsupported(field: Field): Error {
  return serviceError(
    Code.InvalidArgument,
    "UNSUPPORTED_ARROW_TYPE",
    `Arrow column "${field.name}" has type ${String(field.type)}, which cannot be ingested`,
    { column: field.name, type: String(field.type) },
  );
}

/**
 * Loads an Arrow IPC file or stream into a new DuckDB table named `table`, so
 * DuckDB can then write it as Parquet (DuckDB's own arrow extension is not available
 * offline). Batches are read one at a time from the file, never the whole file at once.
 * The caller drops the table, also when this fails.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason UNSUPPORTED_ARROW_TYPE, for a column type
 *   outside the supported table; errors of apache-arrow (unreadable input) propagate as is.
 */
export async function importArrowIpc(
  connection: DuckDBConnection,
  path: string,
  table: string,
): Promise<void> {
  const handle = await open(path, "r");
  try {
    const reader = await RecordBatchReader.from(handle);
    await reader.open();
    const fields = reader.schema.fields;
    const imports = fields.map(columnImport);
    const columns = fields.map((f, i) => `${sqlIdentifier(f.name)} ${imports[i]?.sqlType}`);
    await connection.run(`CREATE TABLE ${table} (${columns.join(", ")})`);
    const appender = await connection.createAppender(table);
    try {
      for await (const batch of reader) {
        const chunks = imports.map((_, j) => batch.data.children[j] as Data);
        const vectors = chunks.map((data) => new Vector([data]));
        for (let row = 0; row < batch.numRows; row++) {
          for (let j = 0; j < imports.length; j++) {
            const data = chunks[j] as Data;
            if (!data.getValid(row)) appender.appendNull();
            else imports[j]?.append(appender, data, vectors[j] as Vector, row);
          }
          appender.endRow();
        }
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  } finally {
    await handle.close();
  }
}
