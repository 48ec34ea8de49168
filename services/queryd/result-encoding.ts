import type { DuckDBDataChunk, DuckDBType } from "@duckdb/node-api";
import { createArrowResultEncoder, createJsonRowEncoder } from "./result/index.js";

/** One batch ready to send, in either format. */
export interface EncodedBatch {
  readonly rowCount: number;
  /** Encoded bytes: the Arrow message, or the UTF-8 size of the JSON rows. */
  readonly byteCount: number;
  readonly arrowIpc?: Uint8Array;
  readonly jsonRows?: string[];
}

/**
 * The result format seen from the stream's side: header and trailer bytes,
 * and chunks in, batches out. Hides whether rows become Arrow IPC messages or
 * JSON texts, so limits and backpressure are handled once.
 */
export interface ResultEncoding {
  /** The Arrow schema message (empty for JSON). */
  readonly header: Uint8Array;
  /** Takes the first `rows` rows of a chunk; returns batches it completed. */
  add(chunk: DuckDBDataChunk, rows: number): EncodedBatch[];
  /** The last, partial batch. */
  flush(): EncodedBatch[];
  /** The Arrow end-of-stream marker (empty for JSON). */
  readonly trailer: Uint8Array;
}

/** Options of {@link createResultEncoding}. */
export interface ResultEncodingOptions {
  readonly format: "arrow" | "json";
  /** Rows per batch at most. */
  readonly batchRows: number;
  /** JSON batches are cut at about this many bytes, so messages stay well inside the limit. */
  readonly jsonBatchBytes?: number;
}

/** Creates the encoding for a result with these columns. */
export function createResultEncoding(
  names: readonly string[],
  types: readonly DuckDBType[],
  options: ResultEncodingOptions,
): ResultEncoding {
  if (options.format === "arrow") {
    const encoder = createArrowResultEncoder(names, types, { batchRows: options.batchRows });
    const toBatches = (messages: ReturnType<typeof encoder.flush>): EncodedBatch[] =>
      messages.map((message) => ({
        rowCount: message.rowCount,
        byteCount: message.bytes.byteLength,
        arrowIpc: message.bytes,
      }));
    return {
      header: encoder.schemaMessage(),
      add: (chunk, rows) => toBatches(encoder.encode(chunk, rows)),
      flush: () => toBatches(encoder.flush()),
      trailer: encoder.endOfStream(),
    };
  }
  const encoder = createJsonRowEncoder(names, types);
  const maxBytes = options.jsonBatchBytes ?? 1024 * 1024;
  let pending: string[] = [];
  let pendingBytes = 0;
  const take = (): EncodedBatch[] => {
    if (pending.length === 0) return [];
    const batch = { rowCount: pending.length, byteCount: pendingBytes, jsonRows: pending };
    pending = [];
    pendingBytes = 0;
    return [batch];
  };
  return {
    header: new Uint8Array(0),
    add(chunk, rows) {
      const done: EncodedBatch[] = [];
      for (const row of encoder.encode(chunk, rows)) {
        pending.push(row);
        pendingBytes += Buffer.byteLength(row, "utf8");
        if (pending.length >= options.batchRows || pendingBytes >= maxBytes) done.push(...take());
      }
      return done;
    },
    flush: take,
    trailer: new Uint8Array(0),
  };
}
