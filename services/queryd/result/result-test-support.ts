import {
  type DuckDBConnection,
  type DuckDBDecimalValue,
  type DuckDBIntervalValue,
  type DuckDBListValue,
  type DuckDBMapValue,
  type DuckDBStructValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
} from "@duckdb/node-api";
import { type Data, type Table, Type, tableFromIPC } from "apache-arrow";
import type { ArrowBatchOptions } from "./arrow-batch-builder.js";
import { createArrowResultEncoder } from "./arrow-result-encoder.js";
import { createJsonRowEncoder } from "./json-rows.js";
import { jsonTextFor } from "./json-value.js";

/** A value in a form both DuckDB's and Arrow's values reduce to, for comparison. */
export type Canonical =
  | null
  | boolean
  | number
  | bigint
  | string
  | Canonical[]
  | { [key: string]: Canonical };

/** What one query gave: DuckDB's own values and the Arrow table read back from the messages. */
export interface EncodedQuery {
  names: string[];
  types: DuckDBType[];
  duckdbRows: DuckDBValue[][];
  table: Table;
  messages: Uint8Array[];
  batchRowCounts: number[];
  jsonRows: string[];
}

/** Runs `sql`, encoding every chunk to Arrow and JSON while keeping DuckDB's own values. */
export async function encodeQuery(
  connection: DuckDBConnection,
  sql: string,
  options: ArrowBatchOptions & { keepDuckDBRows?: boolean } = {},
): Promise<EncodedQuery> {
  const result = await connection.stream(sql);
  const names = result.columnNames();
  const types = result.columnTypes();
  const encoder = createArrowResultEncoder(names, types, options);
  const json = createJsonRowEncoder(names, types);
  const messages = [encoder.schemaMessage()];
  const batchRowCounts: number[] = [];
  const duckdbRows: DuckDBValue[][] = [];
  const jsonRows: string[] = [];
  const keep = options.keepDuckDBRows ?? true;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    for (const message of encoder.encode(chunk)) {
      messages.push(message.bytes);
      batchRowCounts.push(message.rowCount);
    }
    if (keep) {
      duckdbRows.push(...chunk.getRows());
      jsonRows.push(...json.encode(chunk));
    }
  }
  for (const message of encoder.flush()) {
    messages.push(message.bytes);
    batchRowCounts.push(message.rowCount);
  }
  messages.push(encoder.endOfStream());
  return {
    names,
    types,
    duckdbRows,
    table: tableFromIPC(messages),
    messages,
    batchRowCounts,
    jsonRows,
  };
}

/** DuckDB's value of `type`, reduced to its canonical form. */
export function canonicalFromDuckDB(value: DuckDBValue, type: DuckDBType): Canonical {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return BigInt(value as number);
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return String(value);
    case DuckDBTypeId.DECIMAL:
      return (value as DuckDBDecimalValue).value;
    case DuckDBTypeId.BLOB:
    case DuckDBTypeId.GEOMETRY:
      return Array.from((value as { bytes: Uint8Array }).bytes);
    case DuckDBTypeId.DATE:
      return (value as { days: number }).days;
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return (value as { micros: bigint }).micros;
    case DuckDBTypeId.TIME_NS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return (value as { nanos: bigint }).nanos;
    case DuckDBTypeId.TIMESTAMP_S:
      return (value as { seconds: bigint }).seconds;
    case DuckDBTypeId.TIMESTAMP_MS:
      return (value as { millis: bigint }).millis;
    case DuckDBTypeId.TIME_TZ:
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.BIT:
      return String(value);
    case DuckDBTypeId.INTERVAL: {
      const v = value as DuckDBIntervalValue;
      return [v.months, v.days, v.micros * 1000n];
    }
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return (value as DuckDBListValue).items.map((item) =>
        canonicalFromDuckDB(item, type.valueType),
      );
    case DuckDBTypeId.STRUCT: {
      const entries = (value as DuckDBStructValue).entries;
      return Object.fromEntries(
        type.entryNames.map((name, i) => [
          name,
          canonicalFromDuckDB(entries[name] ?? null, type.entryTypes[i]!),
        ]),
      );
    }
    case DuckDBTypeId.MAP:
      return (value as DuckDBMapValue).entries.map((entry) => [
        canonicalFromDuckDB(entry.key, type.keyType),
        canonicalFromDuckDB(entry.value, type.valueType),
      ]);
    case DuckDBTypeId.UNION:
    case DuckDBTypeId.VARIANT:
      return jsonTextFor(value, type);
    default:
      return value as Canonical;
  }
}

const decoder = new TextDecoder();

function int128(words: Uint32Array, at: number): bigint {
  let value = 0n;
  for (let w = 3; w >= 0; w--) value = (value << 32n) | BigInt(words[at + w]!);
  return BigInt.asIntN(128, value);
}

/** Item `index` of Arrow `data`, read from its raw buffers and reduced to its canonical form. */
export function canonicalFromArrow(data: Data, index: number): Canonical {
  if (data.typeId === Type.Null || !data.getValid(index)) return null;
  const i = data.offset + index;
  const values = data.values as ArrayLike<unknown> & { subarray?: unknown };
  switch (data.typeId) {
    case Type.Bool:
      return ((data.values[i >> 3]! >> (i & 7)) & 1) === 1;
    case Type.Int:
      return BigInt(values[i] as number | bigint);
    case Type.Float:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
      return values[i] as number | bigint;
    case Type.Decimal:
      return int128(data.values as Uint32Array, i * 4);
    case Type.Interval: {
      const words = data.values as Int32Array;
      const nanos = new BigInt64Array(words.buffer, words.byteOffset + (i * 4 + 2) * 4, 1)[0]!;
      return [words[i * 4]!, words[i * 4 + 1]!, nanos];
    }
    case Type.Utf8:
    case Type.Binary: {
      const offsets = data.valueOffsets as Int32Array;
      const bytes = (data.values as Uint8Array).subarray(offsets[i]!, offsets[i + 1]!);
      return data.typeId === Type.Utf8 ? decoder.decode(bytes) : Array.from(bytes);
    }
    case Type.Dictionary:
      return data.dictionary!.get(Number(values[i])) as string;
    case Type.List:
    case Type.Map: {
      const offsets = data.valueOffsets as Int32Array;
      const child = data.children[0]!;
      const items: Canonical[] = [];
      for (let j = offsets[i]!; j < offsets[i + 1]!; j++) {
        items.push(
          data.typeId === Type.Map
            ? [canonicalFromArrow(child.children[0]!, j), canonicalFromArrow(child.children[1]!, j)]
            : canonicalFromArrow(child, j),
        );
      }
      return items;
    }
    case Type.FixedSizeList: {
      const size = (data.type as unknown as { listSize: number }).listSize;
      const child = data.children[0]!;
      return Array.from({ length: size }, (_, j) => canonicalFromArrow(child, i * size + j));
    }
    case Type.Struct: {
      const fields = (data.type as { children: { name: string }[] }).children;
      return Object.fromEntries(
        fields.map((field, f) => [field.name, canonicalFromArrow(data.children[f]!, i)]),
      );
    }
    default:
      throw new Error(`no canonical form for Arrow type ${String(data.type)}`);
  }
}

/** Every value of column `columnIndex` of an Arrow table, batch after batch, in canonical form. */
export function arrowColumn(table: Table, columnIndex: number): Canonical[] {
  const out: Canonical[] = [];
  for (const batch of table.batches) {
    const data = batch.data.children[columnIndex]!;
    for (let i = 0; i < data.length; i++) out.push(canonicalFromArrow(data, i));
  }
  return out;
}

/** Every value DuckDB returned for column `columnIndex`, in canonical form. */
export function duckdbColumn(query: EncodedQuery, columnIndex: number): Canonical[] {
  const type = query.types[columnIndex]!;
  return query.duckdbRows.map((row) => canonicalFromDuckDB(row[columnIndex] ?? null, type));
}
