import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import {
  Field as ArrowField,
  BinaryView,
  Bool,
  type DataType,
  DateDay,
  DateMillisecond,
  Decimal,
  DenseUnion,
  Dictionary,
  DurationMillisecond,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Int32,
  Int64,
  IntervalDayTime,
  IntervalMonthDayNano,
  IntervalYearMonth,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  makeData,
  Null,
  Struct,
  Table,
  TimeMicrosecond,
  TimeMillisecond,
  TimeNanosecond,
  TimeSecond,
  TimestampNanosecond,
  tableToIPC,
  Uint64,
  Utf8,
  Utf8View,
  Vector,
  vectorFromArray,
} from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { importArrowIpc } from "./arrow-ipc-import.js";

let workDirectory: string;
let instance: DuckDBInstance;
let connection: DuckDBConnection;
let counter = 0;

beforeAll(async () => {
  workDirectory = await mkdtemp(join(tmpdir(), "catalogd-arrow-import-"));
  instance = await DuckDBInstance.create(":memory:");
  connection = await instance.connect();
});

afterAll(async () => {
  connection.closeSync();
  instance.closeSync();
  await rm(workDirectory, { recursive: true, force: true });
});

const field = <T extends DataType>(name: string, type: T, nullable = true) =>
  new ArrowField<T>(name, type, nullable);

/** Arrow's Map: a list of non-null `entries` structs of a non-null key and a value. */
function mapType(key: DataType, value: DataType): Map_ {
  const entries = new Struct<{ key: DataType; value: DataType }>([
    field("key", key, false),
    field("value", value),
  ]);
  return new Map_(field("entries", entries, false));
}

/** Validity bitmap from booleans (true = present). */
function bitmap(valid: readonly boolean[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((v, i) => {
    if (v) bits[i >> 3]! |= 1 << (i & 7);
  });
  return bits;
}

/** A column of `type` from raw buffer values plus validity (true = present). */
function column(type: DataType, values: ArrayLike<unknown>, valid: boolean[]): Vector {
  return new Vector([
    makeData({
      type,
      length: valid.length,
      nullCount: valid.filter((v) => !v).length,
      nullBitmap: bitmap(valid),
      data: values,
    } as never),
  ]);
}

/**
 * Writes `columns` as an Arrow IPC file (or stream), imports it and returns the DuckDB
 * table's column types and every value rendered by DuckDB as text (NULL stays null).
 */
async function imported(columns: Record<string, Vector>, format: "file" | "stream" = "file") {
  const path = join(workDirectory, `source-${++counter}.arrow`);
  const table = `imported_${counter}`;
  await writeFile(path, tableToIPC(new Table(columns), format));
  await importArrowIpc(connection, path, table);
  const described = await connection.runAndReadAll(`DESCRIBE ${table}`);
  const rows = await connection.runAndReadAll(`SELECT COLUMNS(*)::VARCHAR FROM ${table}`);
  return {
    table,
    types: described.getRowObjectsJS().map((r) => `${r.column_name} ${r.column_type}`),
    rows: rows.getRows(),
  };
}

async function importError(columns: Record<string, Vector>) {
  return imported(columns).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
}

/** Decimal words (little-endian 32-bit, two's complement) of `values` at `bitWidth`. */
function decimalWords(values: bigint[], bitWidth: number): Uint32Array {
  const perValue = bitWidth / 32;
  const words = new Uint32Array(values.length * perValue);
  values.forEach((value, i) => {
    let rest = BigInt.asUintN(bitWidth, value);
    for (let w = 0; w < perValue; w++) {
      words[i * perValue + w] = Number(rest & 0xffffffffn);
      rest >>= 32n;
    }
  });
  return words;
}

/** MonthDayNano interval words: months, days and the nanoseconds as two 32-bit halves. */
function monthDayNano(values: [number, number, bigint][]): Int32Array {
  return Int32Array.from(
    values.flatMap(([months, days, nanos]) => [
      months,
      days,
      Number(BigInt.asIntN(32, nanos)),
      Number(BigInt.asIntN(32, nanos >> 32n)),
    ]),
  );
}

const listOfStructs = new List(
  field(
    "item",
    new Struct([field("a", new Int64()), field("b", new List(field("item", new Utf8())))]),
  ),
);

describe("importArrowIpc nested types", () => {
  it("imports list<struct<a: int64, b: list<utf8>>> with NULLs at every level", async () => {
    const nested = vectorFromArray(
      [
        [
          { a: -(2n ** 63n), b: ["x", null, ""] },
          null,
          { a: null, b: null },
          { a: 2n ** 63n - 1n, b: [] },
        ],
        null,
        [],
      ],
      listOfStructs,
    );
    for (const format of ["file", "stream"] as const) {
      const result = await imported({ nested }, format);
      expect(result.types).toEqual(["nested STRUCT(a BIGINT, b VARCHAR[])[]"]);
      expect(result.rows).toEqual([
        [
          "[{'a': -9223372036854775808, 'b': [x, NULL, '']}, NULL, {'a': NULL, 'b': NULL}, {'a': 9223372036854775807, 'b': []}]",
        ],
        [null],
        ["[]"],
      ]);
      // Exact 64-bit values, not just their rendering.
      const extremes = await connection.runAndReadAll(
        `SELECT nested[1].a = -9223372036854775808 AND nested[4].a = 9223372036854775807 FROM ${result.table} LIMIT 1`,
      );
      expect(extremes.getRows()).toEqual([[true]]);
    }
  });

  it("imports a map as MAP with NULL maps, empty maps and NULL values", async () => {
    const type = mapType(new Utf8(), new Int32());
    const map = vectorFromArray(
      [
        new Map<string, number | null>([
          ["a", 1],
          ["b", null],
        ]),
        null,
        new Map<string, number | null>(),
      ],
      type,
    );
    const result = await imported({ map });
    expect(result.types).toEqual(["map MAP(VARCHAR, INTEGER)"]);
    expect(result.rows).toEqual([["{a=1, b=NULL}"], [null], ["{}"]]);
    const lookup = await connection.runAndReadAll(`SELECT map['a'], map['b'] FROM ${result.table}`);
    expect(lookup.getRows()[0]).toEqual([1, null]);
  });

  it("imports a fixed-size list as ARRAY and a large list as LIST", async () => {
    const fixed = vectorFromArray(
      [[1, null, 3], null, [-(2 ** 31), 0, 2 ** 31 - 1]],
      new FixedSizeList(3, field("item", new Int32())),
    );
    const large = vectorFromArray(
      [[1], null, [2, null]],
      new LargeList(field("item", new Int32())),
    );
    const result = await imported({ fixed, large });
    expect(result.types).toEqual(["fixed INTEGER[3]", "large INTEGER[]"]);
    expect(result.rows).toEqual([
      ["[1, NULL, 3]", "[1]"],
      [null, null],
      ["[-2147483648, 0, 2147483647]", "[2, NULL]"],
    ]);
  });

  it("imports a list of dictionary-encoded strings and a struct holding a map", async () => {
    const tags = vectorFromArray(
      [["red", "blue", null], null, ["red"]],
      new List(field("item", new Dictionary(new Utf8(), new Int32()))),
    );
    const outer = vectorFromArray(
      [{ m: new Map([[7n, [true, null]]]) }, { m: null }, null],
      new Struct([field("m", mapType(new Int64(), new List(field("item", new Bool()))))]),
    );
    const result = await imported({ tags, outer });
    expect(result.types).toEqual(["tags VARCHAR[]", "outer STRUCT(m MAP(BIGINT, BOOLEAN[]))"]);
    expect(result.rows).toEqual([
      ["[red, blue, NULL]", "{'m': {7=[true, NULL]}}"],
      [null, "{'m': NULL}"],
      ["[red]", null],
    ]);
  });
});

describe("importArrowIpc scalar types", () => {
  it("imports Time of every unit as TIME or TIME_NS, from midnight to the end of the day", async () => {
    const valid = [true, false, true, true];
    const result = await imported({
      s: column(new TimeSecond(), Int32Array.from([0, 0, 86_399, 45_296]), valid),
      ms: column(new TimeMillisecond(), Int32Array.from([0, 0, 86_399_999, 1]), valid),
      us: column(
        new TimeMicrosecond(),
        BigInt64Array.from([0n, 0n, 86_399_999_999n, 86_400_000_000n]),
        valid,
      ),
      ns: column(
        new TimeNanosecond(),
        BigInt64Array.from([0n, 0n, 86_399_999_999_999n, 1n]),
        valid,
      ),
    });
    expect(result.types).toEqual(["s TIME", "ms TIME", "us TIME", "ns TIME_NS"]);
    expect(result.rows).toEqual([
      ["00:00:00", "00:00:00", "00:00:00", "00:00:00"],
      [null, null, null, null],
      ["23:59:59", "23:59:59.999", "23:59:59.999999", "23:59:59.999999999"],
      ["12:34:56", "00:00:00.001", "24:00:00", "00:00:00.000000001"],
    ]);
  });

  it("imports YearMonth, DayTime, MonthDayNano and Duration as exact INTERVALs", async () => {
    const valid = [true, false, true];
    const result = await imported({
      ym: column(new IntervalYearMonth(), Int32Array.from([14, 0, 2 ** 31 - 1]), valid),
      dt: column(new IntervalDayTime(), Int32Array.from([3, 4_000, 0, 0, 0, 2 ** 31 - 1]), valid),
      mdn: column(
        new IntervalMonthDayNano(),
        monthDayNano([
          [1, 2, 3_004_000_000n],
          [0, 0, 0n],
          [0, 0, (2n ** 32n - 1n) * 1_000_000n],
        ]),
        valid,
      ),
      dur: column(new DurationMillisecond(), BigInt64Array.from([1_500n, 0n, 0n]), valid),
    });
    expect(result.types).toEqual(["ym INTERVAL", "dt INTERVAL", "mdn INTERVAL", "dur INTERVAL"]);
    expect(result.rows).toEqual([
      ["1 year 2 months", "3 days 00:00:04", "1 month 2 days 00:00:03.004", "00:00:01.5"],
      [null, null, null, null],
      ["178956970 years 7 months", "596:31:23.647", "1193:02:47.295", "00:00:00"],
    ]);
  });

  it("imports Float16 as FLOAT, FixedSizeBinary as BLOB, Utf8View as VARCHAR and Null as INTEGER", async () => {
    const valid = [true, false, true, true];
    const result = await imported({
      half: column(
        new Float16(),
        // 1.5, -, -0, 65504 (largest), then the smallest subnormal and +Infinity below
        Uint16Array.from([0x3e00, 0, 0x8000, 0x7bff]),
        valid,
      ),
      bytes: column(
        new FixedSizeBinary(2),
        Uint8Array.from([0, 255, 0, 0, 1, 2, 0x27, 0x5c]),
        valid,
      ),
      view: vectorFromArray(
        ["short", null, "a string longer than twelve bytes", ""],
        new Utf8View(),
      ),
      nothing: new Vector([makeData({ type: new Null(), length: 4 })]),
    });
    expect(result.types).toEqual(["half FLOAT", "bytes BLOB", "view VARCHAR", "nothing INTEGER"]);
    expect(result.rows).toEqual([
      ["1.5", "\\x00\\xFF", "short", null],
      [null, null, null, null],
      ["-0.0", "\\x01\\x02", "a string longer than twelve bytes", null],
      ["65504.0", "\\x27\\x5C", "", null],
    ]);
    const tiny = await imported({
      half: column(new Float16(), Uint16Array.from([0x0001, 0x7c00]), [true, true]),
    });
    const exact = await connection.runAndReadAll(
      `SELECT list(half = 2 ** -24 OR half = 'inf'::FLOAT) FROM ${tiny.table}`,
    );
    expect(exact.getRows()).toEqual([[{ items: [true, true] }]]);
  });

  it("imports large and view strings and binaries, and the full Uint64 range", async () => {
    const result = await imported({
      large: vectorFromArray(["ß", null, ""], new LargeUtf8()),
      blob: vectorFromArray([Uint8Array.from([0, 1]), null, new Uint8Array()], new LargeBinary()),
      view: vectorFromArray(
        [new Uint8Array(13).fill(7), null, Uint8Array.from([9])],
        new BinaryView(),
      ),
      u64: column(new Uint64(), BigUint64Array.from([2n ** 64n - 1n, 0n, 0n]), [true, false, true]),
    });
    expect(result.types).toEqual(["large VARCHAR", "blob BLOB", "view BLOB", "u64 UBIGINT"]);
    expect(result.rows).toEqual([
      ["ß", "\\x00\\x01", "\\x07".repeat(13), "18446744073709551615"],
      [null, null, null, null],
      ["", "", "\\x09", "0"],
    ]);
  });

  it("imports dictionaries of any supported value type as that type", async () => {
    const result = await imported({
      big: vectorFromArray(
        [2n ** 62n, null, 2n ** 62n, -1n],
        new Dictionary(new Int64(), new Int32()),
      ),
      text: vectorFromArray(["a", null, "b", "a"]),
    });
    expect(result.types).toEqual(["big BIGINT", "text VARCHAR"]);
    expect(result.rows).toEqual([
      ["4611686018427387904", "a"],
      [null, null],
      ["4611686018427387904", "b"],
      ["-1", "a"],
    ]);
  });

  it("imports 32-, 64-, 128- and 256-bit decimals up to 38 digits exactly", async () => {
    const valid = [true, false, true];
    const max38 = 10n ** 38n - 1n;
    const result = await imported({
      d32: column(new Decimal(2, 9, 32), decimalWords([-999_999_999n, 0n, 12_345n], 32), valid),
      d64: column(new Decimal(0, 18, 64), decimalWords([10n ** 18n - 1n, 0n, -1n], 64), valid),
      d128: column(new Decimal(38, 38, 128), decimalWords([-max38, 0n, 1n], 128), valid),
      d256: column(new Decimal(10, 38, 256), decimalWords([max38, 0n, -max38], 256), valid),
    });
    expect(result.types).toEqual([
      "d32 DECIMAL(9,2)",
      "d64 DECIMAL(18,0)",
      "d128 DECIMAL(38,38)",
      "d256 DECIMAL(38,10)",
    ]);
    expect(result.rows).toEqual([
      [
        "-9999999.99",
        "999999999999999999",
        "-.99999999999999999999999999999999999999",
        "9999999999999999999999999999.9999999999",
      ],
      [null, null, null, null],
      [
        "123.45",
        "-1",
        ".00000000000000000000000000000000000001",
        "-9999999999999999999999999999.9999999999",
      ],
    ]);
  });

  it("keeps nanosecond timestamps exact across several record batches", async () => {
    const first = new Table({
      ts: column(new TimestampNanosecond(), BigInt64Array.from([1_700_000_000_123_456_789n]), [
        true,
      ]),
    });
    const second = new Table({
      ts: column(new TimestampNanosecond(), BigInt64Array.from([0n, -1n]), [false, true]),
    });
    const path = join(workDirectory, `batches-${++counter}.arrow`);
    await writeFile(path, tableToIPC(first.concat(second), "stream"));
    await importArrowIpc(connection, path, `batches_${counter}`);
    const rows = await connection.runAndReadAll(`SELECT ts::VARCHAR FROM batches_${counter}`);
    expect(rows.getRows()).toEqual([
      ["2023-11-14 22:13:20.123456789"],
      [null],
      ["1969-12-31 23:59:59.999999999"],
    ]);
  });
});

describe("importArrowIpc chunking", () => {
  it("keeps every row and its order across DuckDB chunk boundaries", async () => {
    const rows = 5_000;
    const values = Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : [BigInt(i), null]));
    const result = await imported({
      l: vectorFromArray(values, new List(field("item", new Int64()))),
    });
    const summary = await connection.runAndReadAll(
      `SELECT count(*), count(l), sum(l[1])::VARCHAR, max(len(l)) FROM ${result.table}`,
    );
    const expectedSum = values.reduce((sum, v) => sum + (v ? (v[0] as bigint) : 0n), 0n);
    expect(summary.getRows()).toEqual([[5000n, 4285n, String(expectedSum), 2n]]);
    expect(result.rows[2047]).toEqual(["[2047, NULL]"]);
    expect(result.rows[2048]).toEqual(["[2048, NULL]"]);
    expect(result.rows[4998]).toEqual([null]);
    expect(result.rows[4999]).toEqual(["[4999, NULL]"]);
  });
});

describe("importArrowIpc refusals", () => {
  async function expectRefused(columns: Record<string, Vector>, reason: string, column: string) {
    const error = await importError(columns);
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe(reason);
    expect(error?.rawMessage).toContain(`"${column}"`);
    return error;
  }

  it("refuses a Decimal256 beyond 38 digits with UNSUPPORTED_ARROW_TYPE naming the column", async () => {
    const error = await expectRefused(
      { wide: column(new Decimal(0, 60, 256), decimalWords([1n], 256), [true]) },
      "UNSUPPORTED_ARROW_TYPE",
      "wide",
    );
    expect(error?.rawMessage).toContain("Decimal[60e0]");
  });

  it("refuses a union, also nested in a list, with UNSUPPORTED_ARROW_TYPE", async () => {
    const unionType = new DenseUnion([0, 1], [field("i", new Int32()), field("s", new Utf8())]);
    const union = makeData({
      type: unionType,
      length: 2,
      nullCount: 0,
      typeIds: Int8Array.from([0, 1]),
      valueOffsets: Int32Array.from([0, 0]),
      children: [
        makeData({ type: new Int32(), length: 1, data: Int32Array.from([7]) }),
        vectorFromArray(["x"], new Utf8()).data[0]!,
      ],
    } as never);
    await expectRefused({ choice: new Vector([union]) }, "UNSUPPORTED_ARROW_TYPE", "choice");
    const listed = makeData({
      type: new List(field("item", unionType)),
      length: 1,
      nullCount: 0,
      valueOffsets: Int32Array.from([0, 2]),
      child: union,
    } as never);
    const error = await expectRefused(
      { choices: new Vector([listed]) },
      "UNSUPPORTED_ARROW_TYPE",
      "choices",
    );
    expect(error?.rawMessage).toContain("Union");
  });

  it("refuses a struct whose field names differ only in letter case", async () => {
    const pair = vectorFromArray(
      [{ a: 1, A: 2 }],
      new Struct([field("a", new Int32()), field("A", new Int32())]),
    );
    await expectRefused({ pair }, "UNSUPPORTED_ARROW_TYPE", "pair");
  });

  it("refuses values its DuckDB type or Parquet cannot hold exactly with UNREPRESENTABLE_ARROW_VALUE", async () => {
    const cases: Record<string, Vector> = {
      subMillisecond: column(new IntervalMonthDayNano(), monthDayNano([[0, 0, 1_000n]]), [true]),
      negative: column(new IntervalYearMonth(), Int32Array.from([-1]), [true]),
      lateTime: column(new TimeSecond(), Int32Array.from([86_401]), [true]),
      endOfDays: column(new DateDay(), Int32Array.from([2 ** 31 - 1]), [true]),
      partialDay: column(new DateMillisecond(), BigInt64Array.from([86_400_001n]), [true]),
      subMicrosecond: column(new TimestampNanosecond("UTC"), BigInt64Array.from([1n]), [true]),
      tooManyDigits: column(new Decimal(0, 3, 128), decimalWords([1_000n], 128), [true]),
      duplicateKey: vectorFromArray(
        [
          [
            { key: "k", value: 1 },
            { key: "k", value: 2 },
          ],
        ],
        new List(
          field("item", new Struct([field("key", new Utf8()), field("value", new Int32())])),
        ),
      ),
    };
    for (const [name, vector] of Object.entries(cases)) {
      if (name === "duplicateKey") continue;
      await expectRefused({ [name]: vector }, "UNREPRESENTABLE_ARROW_VALUE", name);
    }
    const entries = cases.duplicateKey!.data[0]!.children[0]!;
    const duplicates = makeData({
      type: mapType(new Utf8(), new Int32()),
      length: 1,
      nullCount: 0,
      valueOffsets: Int32Array.from([0, 2]),
      child: entries,
    } as never);
    await expectRefused(
      { duplicates: new Vector([duplicates]) },
      "UNREPRESENTABLE_ARROW_VALUE",
      "duplicates",
    );
  });

  it("reports a refused value in a later column of a row, not an appender error", async () => {
    const error = await expectRefused(
      {
        fine: vectorFromArray(["first", "second"], new Utf8()),
        late: column(new TimeSecond(), Int32Array.from([1, -1]), [true, true]),
      },
      "UNREPRESENTABLE_ARROW_VALUE",
      "late",
    );
    expect(error?.rawMessage).toContain("a time outside a day");
    const still = await connection.runAndReadAll("SELECT 42");
    expect(still.getRows()).toEqual([[42]]);
  });
});
