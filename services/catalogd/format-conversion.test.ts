import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  Field as ArrowField,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  DenseUnion,
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
  makeData,
  Struct,
  Table,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  tableToIPC,
  Uint32,
  Utf8,
  Vector,
  vectorFromArray,
} from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { errorReason } from "../kit/errors.js";
import { type CatalogDuckDB, openCatalogDuckDB } from "./catalog-duckdb.js";
import { type ConvertibleFormat, convertToParquet } from "./format-conversion.js";
import { readerOptionArguments } from "./reader-options.js";
import type { AppendTarget } from "./text-append.js";

let workDirectory: string;
let db: CatalogDuckDB;
let counter = 0;

beforeAll(async () => {
  workDirectory = await mkdtemp(join(tmpdir(), "catalogd-convert-"));
  db = await openCatalogDuckDB({ workDirectory });
});

afterAll(async () => {
  db.close();
  await rm(workDirectory, { recursive: true, force: true });
});

/** Writes `body` under a name without extension (as ingest does), converts it and reads it back. */
async function convert(
  format: ConvertibleFormat,
  body: string | Uint8Array,
  appendTo?: AppendTarget,
  readerOptions: Record<string, string> = {},
) {
  const source = join(workDirectory, `source-${++counter}`);
  const target = join(workDirectory, `target-${counter}.parquet`);
  await writeFile(source, body);
  const readerArguments = readerOptionArguments(format, readerOptions);
  await convertToParquet(db, format, source, target, { appendTo, readerArguments });
  return readBack(`read_parquet('${target}')`);
}

/** What DuckDB itself reads from `body` saved as `name` (`FROM 'name'`), in `convert`'s shape. */
async function duckdbReads(name: string, body: string | Uint8Array) {
  const path = join(workDirectory, `original-${++counter}-${name}`);
  await writeFile(path, body);
  return readBack(`'${path}'`);
}

/** The column names with types, and the rows as text, of a table expression. */
function readBack(from: string) {
  return db.withConnection(async (c) => {
    const described = await c.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
    const rows = await c.runAndReadAll(`SELECT COLUMNS(*)::VARCHAR FROM ${from}`);
    return {
      types: described.getRowObjectsJS().map((r) => `${r.column_name} ${r.column_type}`),
      rows: rows.getRows(),
    };
  });
}

async function conversionError(
  format: ConvertibleFormat,
  body: string | Uint8Array,
  appendTo?: AppendTarget,
) {
  return convert(format, body, appendTo).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
}

/** A column of `type` from raw values plus validity (true = present). */
function column(type: DataType, values: ArrayLike<unknown>, valid: boolean[]): Vector {
  const nullBitmap = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((v, i) => {
    if (v) nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return new Vector([
    makeData({
      type,
      length: valid.length,
      nullCount: valid.filter((v) => !v).length,
      nullBitmap,
      data: values,
    } as never),
  ]);
}

function typedArrowTable(): Table {
  const valid = [true, false, true];
  return new Table({
    i8: column(new Int8(), Int8Array.from([-8, 0, 8]), valid),
    i16: column(new Int16(), Int16Array.from([-16, 0, 16]), valid),
    i32: column(new Int32(), Int32Array.from([-32, 0, 32]), valid),
    i64: column(new Int64(), BigInt64Array.from([-(2n ** 62n), 0n, 2n ** 62n]), valid),
    u32: column(new Uint32(), Uint32Array.from([0, 0, 4_000_000_000]), valid),
    f32: column(new Float32(), Float32Array.from([1.5, 0, -2.25]), valid),
    f64: column(new Float64(), Float64Array.from([0.1, 0, 1e300]), valid),
    flag: column(new Bool(), Uint8Array.from([0b101]), valid),
    text: vectorFromArray(["héllo", null, "wörld"], new Utf8()),
    dict: vectorFromArray(["a", null, "b"]),
    day: column(new DateDay(), Int32Array.from([0, 0, 19723]), valid),
    ts_us: column(
      new TimestampMicrosecond(),
      BigInt64Array.from([1_700_000_000_123_456n, 0n, 0n]),
      valid,
    ),
    ts_ns: column(
      new TimestampNanosecond(),
      BigInt64Array.from([1n, 0n, 1_700_000_000_123_456_789n]),
      valid,
    ),
    ts_tz: column(
      new TimestampMillisecond("UTC"),
      BigInt64Array.from([1_700_000_000_123n, 0n, 0n]),
      valid,
    ),
    amount: column(
      new Decimal(2, 10, 128),
      // 123.45 and -0.01 as 128-bit little-endian words
      Uint32Array.from([
        12345, 0, 0, 0, 0, 0, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
      ]),
      valid,
    ),
  });
}

const expectedTypes = [
  "i8 TINYINT",
  "i16 SMALLINT",
  "i32 INTEGER",
  "i64 BIGINT",
  "u32 UINTEGER",
  "f32 FLOAT",
  "f64 DOUBLE",
  "flag BOOLEAN",
  "text VARCHAR",
  "dict VARCHAR",
  "day DATE",
  "ts_us TIMESTAMP",
  "ts_ns TIMESTAMP_NS",
  "ts_tz TIMESTAMP WITH TIME ZONE",
  "amount DECIMAL(10,2)",
];

const expectedRows = [
  [
    "-8",
    "-16",
    "-32",
    "-4611686018427387904",
    "0",
    "1.5",
    "0.1",
    "true",
    "héllo",
    "a",
    "1970-01-01",
    "2023-11-14 22:13:20.123456",
    "1970-01-01 00:00:00.000000001",
    "2023-11-14 22:13:20.123+00",
    "123.45",
  ],
  Array(15).fill(null),
  [
    "8",
    "16",
    "32",
    "4611686018427387904",
    "4000000000",
    "-2.25",
    "1e+300",
    "true",
    "wörld",
    "b",
    "2024-01-01",
    "1970-01-01 00:00:00",
    "2023-11-14 22:13:20.123456789",
    "1970-01-01 00:00:00+00",
    "-0.01",
  ],
];

describe("convertToParquet", () => {
  it("converts CSV with a header row, detecting types", async () => {
    const result = await convert(SourceFormat.CSV, "id,name,score\n1,ann,1.5\n2,bob,\n");
    expect(result.types).toEqual(["id BIGINT", "name VARCHAR", "score DOUBLE"]);
    expect(result.rows).toEqual([
      ["1", "ann", "1.5"],
      ["2", "bob", null],
    ]);
  });

  it("converts CSV without a header row as DuckDB does: every row kept, columns column0..", async () => {
    const body = "1,alpha,2.5\n2,beta,3.5\n3,gamma,4.5\n";
    const result = await convert(SourceFormat.CSV, body);
    expect(result).toEqual(await duckdbReads("n.csv", body));
    expect(result.types).toEqual(["column0 BIGINT", "column1 VARCHAR", "column2 DOUBLE"]);
    expect(result.rows).toHaveLength(3);
  });

  it("converts tab-separated files as CSV, DuckDB sniffing the delimiter", async () => {
    const body = "id\tname\n1\tann\n2\tbob\n";
    const result = await convert(SourceFormat.CSV, body);
    expect(result).toEqual(await duckdbReads("dim.tsv", body));
    expect(result.types).toEqual(["id BIGINT", "name VARCHAR"]);
  });

  it("converts gzip and zstd CSV and gzip NDJSON to what DuckDB reads from the original", async () => {
    const csv = "id,name,score\n1,ann,1.5\n2,bob,\n";
    const ndjson = '{"a": 1, "b": "x"}\n{"a": 2, "b": null}\n';
    // `printf 'id,name\n1,ann\n2,bob\n' | zstd`: Node 20's zlib has no zstd.
    const zstdCsv = Buffer.from("KLUv/QRYoQAAaWQsbmFtZQoxLGFubgoyLGJvYgqokfZh", "base64");
    const gzipCsv = await convert(SourceFormat.CSV, gzipSync(csv));
    expect(gzipCsv).toEqual(await duckdbReads("dim.csv", csv));
    expect(gzipCsv.rows).toHaveLength(2);
    expect(await convert(SourceFormat.CSV, zstdCsv)).toEqual(
      await duckdbReads("dim.csv", "id,name\n1,ann\n2,bob\n"),
    );
    const gzipJson = await convert(SourceFormat.JSON, gzipSync(ndjson));
    expect(gzipJson).toEqual(await duckdbReads("events.ndjson", ndjson));
    expect(gzipJson.types).toEqual(["a BIGINT", "b VARCHAR"]);
  });

  it("reads CSV with the reader options given, appends included", async () => {
    const body = "id;score;note\n1;NA;x\n2;2,5;NA\n";
    const options = { delim: ";", nullstr: "NA", decimal_separator: "," };
    const result = await convert(SourceFormat.CSV, body, undefined, options);
    expect(result.types).toEqual(["id BIGINT", "score DOUBLE", "note VARCHAR"]);
    expect(result.rows).toEqual([
      ["1", null, "x"],
      ["2", "2.5", null],
    ]);
    const appended = await convert(
      SourceFormat.CSV,
      "note;id;score\nNA;3;1\n",
      {
        dataset: "scores",
        columns: [
          { name: "id", type: "BIGINT" },
          { name: "score", type: "DOUBLE" },
          { name: "note", type: "VARCHAR" },
        ],
      },
      options,
    );
    expect(appended.rows).toEqual([["3", "1.0", null]]);
  });

  it("detects types from the whole file, so a key or value past DuckDB's sample is neither refused nor rounded", async () => {
    const records = Array.from({ length: 25_000 }, (_, i) => `{"n": ${i}}`);
    const lateKey = await convert(
      SourceFormat.JSON,
      `${[...records, '{"n": 1, "late": "x"}'].join("\n")}\n`,
    );
    expect(lateKey.types).toEqual(["n BIGINT", "late VARCHAR"]);
    expect(lateKey.rows.at(-1)).toEqual(["1", "x"]);
    const rows = Array.from({ length: 25_000 }, (_, i) => `${i}`);
    const lateText = await convert(SourceFormat.CSV, `qty\n${[...rows, "N/A"].join("\n")}\n`);
    expect(lateText.types).toEqual(["qty VARCHAR"]);
    expect(lateText.rows.at(-1)).toEqual(["N/A"]);
    const lateFraction = await convert(SourceFormat.CSV, `qty\n${[...rows, "1.5"].join("\n")}\n`);
    expect(lateFraction.types).toEqual(["qty DOUBLE"]);
    expect(lateFraction.rows.at(-1)).toEqual(["1.5"]);
  });

  it("converts a JSON array of objects and newline-delimited JSON alike", async () => {
    const array = await convert(SourceFormat.JSON, '[{"a": 1, "b": "x"}, {"a": 2, "b": null}]');
    const lines = await convert(SourceFormat.JSON, '{"a": 1, "b": "x"}\n{"a": 2, "b": null}\n');
    expect(array.types).toEqual(["a BIGINT", "b VARCHAR"]);
    expect(array.rows).toEqual([
      ["1", "x"],
      ["2", null],
    ]);
    expect(lines).toEqual(array);
  });

  it("keeps JSON integers past 64 bits exact as DECIMAL(38,0), where Parquet would round them", async () => {
    const body = '{"n": 18446744073709551615}\n{"n": 18446744073709551614}\n';
    const result = await convert(SourceFormat.JSON, body);
    expect(result.types).toEqual(["n DECIMAL(38,0)"]);
    expect(result.rows).toEqual((await duckdbReads("huge.ndjson", body)).rows);
    expect(result.rows).toEqual([["18446744073709551615"], ["18446744073709551614"]]);
  });

  it("appends CSV and JSON in the dataset's types and names (matched ignoring case), keeping text as written", async () => {
    const sales: AppendTarget = {
      dataset: "sales",
      columns: [
        { name: "id", type: "BIGINT" },
        { name: "amount", type: "DOUBLE" },
        { name: "ratio", type: "FLOAT" },
        { name: "note", type: "VARCHAR" },
      ],
    };
    const csv = await convert(
      SourceFormat.CSV,
      "NOTE,Id,amount,ratio\n10.50,1,2,0.1\n1e3,2,3,0.25\n",
      sales,
    );
    expect(csv.types).toEqual(["id BIGINT", "amount DOUBLE", "ratio FLOAT", "note VARCHAR"]);
    expect(csv.rows).toEqual([
      ["1", "2.0", "0.1", "10.50"],
      ["2", "3.0", "0.25", "1e3"],
    ]);
    const ids = await convert(SourceFormat.CSV, "id\nA0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\n", {
      dataset: "ids",
      columns: [{ name: "id", type: "UUID" }],
    });
    expect(ids.rows).toEqual([["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]]);
    const people: AppendTarget = {
      dataset: "people",
      columns: [
        { name: "name", type: "VARCHAR" },
        { name: "user", type: "STRUCT(id BIGINT, score DOUBLE)" },
      ],
    };
    const json = await convert(
      SourceFormat.JSON,
      '{"name": "carol", "user": {"id": 1, "score": 2}}\n{"name": 42, "user": {"id": 2, "score": 2.5}}\n',
      people,
    );
    expect(json.types).toEqual(["name VARCHAR", "user STRUCT(id BIGINT, score DOUBLE)"]);
    expect(json.rows).toEqual([
      ["carol", "{'id': 1, 'score': 2.0}"],
      ["42", "{'id': 2, 'score': 2.5}"],
    ]);
  });

  it("refuses an append whose values the dataset's types would change, naming the value", async () => {
    const target: AppendTarget = {
      dataset: "app",
      columns: [
        { name: "id", type: "BIGINT" },
        { name: "qty", type: "BIGINT" },
        { name: "day", type: "DATE" },
      ],
    };
    for (const [body, column, shown] of [
      ["id,qty,day\n1,1.5,2024-04-01\n", "qty", "'1.5' would become '2'"],
      [
        "id,qty,day\n1,1,2024-04-01 23:59:59\n",
        "day",
        "'2024-04-01 23:59:59' would become '2024-04-01'",
      ],
      ["id,qty,day\n007,1,2024-04-01\n", "id", "'007' would become '7'"],
    ] as const) {
      const error = await conversionError(SourceFormat.CSV, body, target);
      expect(error?.code, body).toBe(Code.InvalidArgument);
      expect(errorReason(error), body).toBe("INEXACT_APPEND");
      expect(error?.rawMessage, body).toContain(`column "${column}" is`);
      expect(error?.rawMessage, body).toContain(shown);
    }
    const money: AppendTarget = {
      dataset: "app",
      columns: [{ name: "amount", type: "DECIMAL(18,2)" }],
    };
    const hidden = await conversionError(SourceFormat.CSV, "amount\n123456789012345.001\n", money);
    expect(errorReason(hidden)).toBe("INEXACT_APPEND");
    expect(hidden?.rawMessage).toContain("'123456789012345.001' would become '123456789012345'");
    expect((await convert(SourceFormat.CSV, "amount\n1.5\n-2\n", money)).rows).toEqual([
      ["1.50"],
      ["-2.00"],
    ]);
    const flag = await conversionError(SourceFormat.CSV, "flag\n2\n", {
      dataset: "app",
      columns: [{ name: "flag", type: "BOOLEAN" }],
    });
    expect(flag?.code).toBe(Code.InvalidArgument);
    expect(flag?.rawMessage).toContain("BOOLEAN");
  });

  it("refuses a JSON append with nested keys the dataset lacks as SCHEMA_CONFLICT", async () => {
    const error = await conversionError(
      SourceFormat.JSON,
      '{"user": {"name": "a", "email": "a@x"}}\n',
      { dataset: "nest", columns: [{ name: "user", type: "STRUCT(name VARCHAR)" }] },
    );
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(errorReason(error)).toBe("SCHEMA_CONFLICT");
    expect(error?.rawMessage).toContain('the file has "user.email", the dataset not');
  });

  it("converts an Arrow IPC file with every supported type and NULLs exactly", async () => {
    const result = await convert(SourceFormat.ARROW_IPC, tableToIPC(typedArrowTable(), "file"));
    expect(result.types).toEqual(expectedTypes);
    expect(result.rows).toEqual(expectedRows);
  });

  it("converts an Arrow IPC stream the same as the file", async () => {
    const result = await convert(SourceFormat.ARROW_IPC, tableToIPC(typedArrowTable(), "stream"));
    expect(result.types).toEqual(expectedTypes);
    expect(result.rows).toEqual(expectedRows);
  });

  it("converts nested Arrow columns (lists, structs, maps, fixed-size lists) to Parquet exactly", async () => {
    const item = <T extends DataType>(name: string, type: T, nullable = true) =>
      new ArrowField<T>(name, type, nullable);
    const nested = vectorFromArray(
      [[{ a: 2n ** 63n - 1n, b: ["x", null] }, null, { a: null, b: null }], null, []],
      new List(
        item(
          "item",
          new Struct([item("a", new Int64()), item("b", new List(item("item", new Utf8())))]),
        ),
      ),
    );
    const map = vectorFromArray(
      [new Map([["k", 1]]), null, new Map<string, number>()],
      new Map_(
        item(
          "entries",
          new Struct<{ key: DataType; value: DataType }>([
            item("key", new Utf8(), false),
            item("value", new Int32()),
          ]),
          false,
        ),
      ),
    );
    const fixed = vectorFromArray(
      [[1, null], null, [3, 4]],
      new FixedSizeList(2, item("item", new Int32())),
    );
    const result = await convert(
      SourceFormat.ARROW_IPC,
      tableToIPC(new Table({ nested, map, fixed }), "file"),
    );
    expect(result.types).toEqual([
      "nested STRUCT(a BIGINT, b VARCHAR[])[]",
      "map MAP(VARCHAR, INTEGER)",
      // Parquet has no fixed-size list: it reads back as a list of the same items.
      "fixed INTEGER[]",
    ]);
    expect(result.rows).toEqual([
      [
        "[{'a': 9223372036854775807, 'b': [x, NULL]}, NULL, {'a': NULL, 'b': NULL}]",
        "{k=1}",
        "[1, NULL]",
      ],
      [null, null, null],
      ["[]", "{}", "[3, 4]"],
    ]);
  });

  it("refuses an Arrow union column with UNSUPPORTED_ARROW_TYPE naming the column", async () => {
    const union = makeData({
      type: new DenseUnion([0], [new ArrowField("i", new Int32(), true)]),
      length: 1,
      nullCount: 0,
      typeIds: Int8Array.from([0]),
      valueOffsets: Int32Array.from([0]),
      children: [makeData({ type: new Int32(), length: 1, data: Int32Array.from([7]) })],
    } as never);
    const error = await conversionError(
      SourceFormat.ARROW_IPC,
      tableToIPC(new Table({ choice: new Vector([union]) }), "file"),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe("UNSUPPORTED_ARROW_TYPE");
    expect(error?.rawMessage).toContain('"choice"');
  });

  it("converts Arrow intervals Parquet holds exactly and refuses sub-millisecond ones", async () => {
    const interval = (nanos: bigint) =>
      column(
        new IntervalMonthDayNano(),
        Int32Array.from([14, 3, Number(BigInt.asIntN(32, nanos)), Number(nanos >> 32n)]),
        [true],
      );
    const exact = await convert(
      SourceFormat.ARROW_IPC,
      tableToIPC(new Table({ span: interval(1_500_000_000n) }), "file"),
    );
    expect(exact.types).toEqual(["span INTERVAL"]);
    expect(exact.rows).toEqual([["1 year 2 months 3 days 00:00:01.5"]]);
    const error = await conversionError(
      SourceFormat.ARROW_IPC,
      tableToIPC(new Table({ span: interval(1_500_000_001n) }), "file"),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe("UNREPRESENTABLE_ARROW_VALUE");
  });

  it("reports unreadable input as INVALID_ARGUMENT reason UNREADABLE_SOURCE", async () => {
    for (const [format, body] of [
      [SourceFormat.JSON, "{not json at all"],
      [SourceFormat.ARROW_IPC, "definitely not arrow"],
      [SourceFormat.CSV, Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x81])],
    ] as const) {
      const error = await conversionError(format, body);
      expect(error?.code, SourceFormat[format]).toBe(Code.InvalidArgument);
      expect(errorReason(error), SourceFormat[format]).toBe("UNREADABLE_SOURCE");
      expect(error?.rawMessage.length).toBeGreaterThan(30);
      expect(error?.rawMessage, "the server's paths stay out of messages").not.toContain(
        workDirectory,
      );
    }
  });
});
