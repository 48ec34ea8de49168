import type { DuckDBDataChunk, DuckDBType } from "@duckdb/node-api";
import type { Schema } from "apache-arrow";
import { type ArrowBatchOptions, createArrowBatchBuilder } from "./arrow-batch-builder.js";
import { createIpcMessageWriter } from "./arrow-ipc-messages.js";
import { arrowLayoutFor } from "./arrow-type-mapping.js";

/** One finished record batch message (with any dictionary messages it needs first). */
export interface ArrowBatchMessage {
  /** The bytes for `ResultBatch.arrow_ipc`. */
  readonly bytes: Uint8Array;
  /** Rows in the batch, for `ResultBatch.row_count`. */
  readonly rowCount: number;
}

/**
 * Turns a DuckDB result into the Arrow IPC messages of an
 * `ExecuteQueryResponse` stream: `schemaMessage()` for the header, the
 * messages of `encode`/`flush` for the batches, `endOfStream()` for the
 * summary. Their concatenation is one valid Arrow IPC stream.
 */
export interface ArrowResultEncoder {
  /** The Arrow schema every batch has. */
  readonly schema: Schema;
  /** The IPC schema message. */
  schemaMessage(): Uint8Array;
  /**
   * Adds the first `rows` rows of `chunk` (all by default, fewer to stop at a
   * row limit) and returns the batch messages this completed, possibly none.
   */
  encode(chunk: DuckDBDataChunk, rows?: number): ArrowBatchMessage[];
  /** The message of the last, partial batch, if rows are pending. */
  flush(): ArrowBatchMessage[];
  /** The IPC end-of-stream marker. */
  endOfStream(): Uint8Array;
}

/**
 * Creates the Arrow encoder for a result with these column names and DuckDB
 * types (from `result.columnNames()` / `result.columnTypes()`).
 */
export function createArrowResultEncoder(
  columnNames: readonly string[],
  columnTypes: readonly DuckDBType[],
  options: ArrowBatchOptions = {},
): ArrowResultEncoder {
  const layout = arrowLayoutFor(columnNames, columnTypes);
  const batches = createArrowBatchBuilder(layout, options);
  const messages = createIpcMessageWriter(layout.schema);
  const toMessages = (done: ReturnType<typeof batches.flush>): ArrowBatchMessage[] =>
    done.map((batch) => ({ bytes: messages.recordBatchMessage(batch), rowCount: batch.numRows }));
  return {
    schema: layout.schema,
    schemaMessage: messages.schemaMessage,
    encode: (chunk, rows) => toMessages(batches.append(chunk, rows)),
    flush: () => toMessages(batches.flush()),
    endOfStream: messages.endOfStream,
  };
}
