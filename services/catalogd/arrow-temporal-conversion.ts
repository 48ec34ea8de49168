import {
  DATE,
  DuckDBDateValue,
  DuckDBIntervalValue,
  DuckDBTimeNSValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  INTERVAL,
  TIME,
  TIME_NS,
  TIMESTAMP,
  TIMESTAMP_MS,
  TIMESTAMP_NS,
  TIMESTAMP_S,
  TIMESTAMPTZ,
} from "@duckdb/node-api";
import { type Data, DataType, DateUnit, IntervalUnit, TimeUnit } from "apache-arrow";
import { int64At } from "./arrow-buffer-read.js";
import { type ArrowConversion, arrowConversion, type ValueRefusal } from "./arrow-conversion.js";

/** DuckDB keeps the extreme 32-bit day and 64-bit tick counts for ±infinity. */
const INFINITE_DAYS = 2 ** 31 - 1;
const INFINITE_TICKS = 2n ** 63n - 1n;
const MILLIS_PER_DAY = 86_400_000n;
/** DuckDB's TIME runs from 00:00:00 to 24:00:00 inclusive. */
const MICROS_PER_DAY = 86_400_000_000n;
/** Parquet's INTERVAL holds months, days and milliseconds as unsigned 32-bit numbers. */
const PARQUET_INTERVAL_MILLIS = 2n ** 32n;
/** Multiplier and divisor from an Arrow time unit to microseconds. */
const MICROS_PER_UNIT: Record<TimeUnit, readonly [bigint, bigint]> = {
  [TimeUnit.SECOND]: [1_000_000n, 1n],
  [TimeUnit.MILLISECOND]: [1_000n, 1n],
  [TimeUnit.MICROSECOND]: [1n, 1n],
  [TimeUnit.NANOSECOND]: [1n, 1_000n],
};

/**
 * The Arrow date, time, timestamp, interval and duration types in DuckDB's terms, or
 * `undefined` for any other type. Values DuckDB would read differently (±infinity, times
 * outside a day, sub-microsecond remainders) and intervals the Parquet file written from
 * the table cannot hold are refused through `refuse` rather than changed.
 */
export function temporalConversion(
  type: DataType,
  refuse: ValueRefusal,
): ArrowConversion | undefined {
  const finite = (ticks: bigint): bigint => {
    if (ticks >= INFINITE_TICKS || ticks <= -INFINITE_TICKS) {
      throw refuse(`${ticks}, which DuckDB reads as infinity`);
    }
    return ticks;
  };
  const micros = (ticks: bigint, unit: TimeUnit): bigint => {
    const [multiply, divide] = MICROS_PER_UNIT[unit];
    if (ticks % divide !== 0n) throw refuse(`${ticks} ns, finer than a microsecond`);
    return (ticks * multiply) / divide;
  };
  const date = (days: number): DuckDBDateValue => {
    if (Math.abs(days) >= INFINITE_DAYS) {
      throw refuse(`the date ${days} days from 1970, which DuckDB reads as infinity`);
    }
    return new DuckDBDateValue(days);
  };
  const interval = (months: number, days: number, span: bigint): DuckDBIntervalValue => {
    // The table becomes a Parquet file, and DuckDB's Parquet writer refuses negative parts,
    // drops sub-millisecond parts and wraps 2^32 milliseconds and more without an error.
    if (
      months < 0 ||
      days < 0 ||
      span < 0n ||
      span % 1000n !== 0n ||
      span / 1000n >= PARQUET_INTERVAL_MILLIS
    ) {
      throw refuse(
        `the interval (${months} months, ${days} days, ${span} µs), but Parquet holds only non-negative months, days and whole milliseconds below 2^32`,
      );
    }
    return new DuckDBIntervalValue(months, days, span);
  };

  if (DataType.isDate(type)) {
    if (type.unit === DateUnit.DAY) {
      return arrowConversion(DATE, (d, i) => date(d.values[i] as number));
    }
    return arrowConversion(DATE, (d, i) => {
      const millis = int64At(d, i);
      if (millis % MILLIS_PER_DAY !== 0n) throw refuse(`the Date64 ${millis} ms, not a whole day`);
      return date(Number(millis / MILLIS_PER_DAY));
    });
  }
  if (DataType.isTime(type)) {
    const unit = type.unit as TimeUnit;
    const ticks =
      type.bitWidth === 32
        ? (d: Data, i: number) => BigInt(d.values[i] as number)
        : (d: Data, i: number) => int64At(d, i);
    const perDay = unit === TimeUnit.NANOSECOND ? MICROS_PER_DAY * 1000n : MICROS_PER_DAY;
    const within = (value: bigint) => {
      if (value < 0n || value > perDay) throw refuse(`${value}, a time outside a day`);
      return value;
    };
    if (unit === TimeUnit.NANOSECOND) {
      return arrowConversion(TIME_NS, (d, i) => new DuckDBTimeNSValue(within(ticks(d, i))));
    }
    const [multiply] = MICROS_PER_UNIT[unit];
    return arrowConversion(TIME, (d, i) => new DuckDBTimeValue(within(ticks(d, i) * multiply)));
  }
  if (DataType.isTimestamp(type)) {
    const unit = type.unit as TimeUnit;
    const ticks = (d: Data, i: number) => finite(int64At(d, i));
    if (type.timezone) {
      // DuckDB keeps the instant in microseconds; the zone name is Arrow metadata.
      return arrowConversion(
        TIMESTAMPTZ,
        (d, i) => new DuckDBTimestampTZValue(finite(micros(ticks(d, i), unit))),
      );
    }
    switch (unit) {
      case TimeUnit.SECOND:
        return arrowConversion(TIMESTAMP_S, (d, i) => new DuckDBTimestampSecondsValue(ticks(d, i)));
      case TimeUnit.MILLISECOND:
        return arrowConversion(
          TIMESTAMP_MS,
          (d, i) => new DuckDBTimestampMillisecondsValue(ticks(d, i)),
        );
      case TimeUnit.MICROSECOND:
        return arrowConversion(TIMESTAMP, (d, i) => new DuckDBTimestampValue(ticks(d, i)));
      default:
        return arrowConversion(
          TIMESTAMP_NS,
          (d, i) => new DuckDBTimestampNanosecondsValue(ticks(d, i)),
        );
    }
  }
  if (DataType.isInterval(type)) {
    const words = (d: Data) => d.values as Int32Array;
    switch (type.unit) {
      case IntervalUnit.YEAR_MONTH:
        return arrowConversion(INTERVAL, (d, i) => interval(words(d)[i] as number, 0, 0n));
      case IntervalUnit.DAY_TIME:
        return arrowConversion(INTERVAL, (d, i) => {
          const [days, millis] = words(d).subarray(2 * i, 2 * i + 2);
          return interval(0, days as number, BigInt(millis as number) * 1000n);
        });
      default:
        return arrowConversion(INTERVAL, (d, i) => {
          const [months, days, low, high] = words(d).subarray(4 * i, 4 * i + 4);
          const nanos = (BigInt(high as number) << 32n) | BigInt((low as number) >>> 0);
          return interval(months as number, days as number, micros(nanos, TimeUnit.NANOSECOND));
        });
    }
  }
  if (DataType.isDuration(type)) {
    const unit = type.unit as TimeUnit;
    return arrowConversion(INTERVAL, (d, i) => interval(0, 0, micros(int64At(d, i), unit)));
  }
  return undefined;
}
