import type { DuckDBDataChunk } from "@duckdb/node-api";
import { makeData, RecordBatch, Struct } from "apache-arrow";
import { type ColumnBuilder, createColumnBuilder } from "./arrow-column-builder.js";
import type { ArrowResultLayout } from "./arrow-type-mapping.js";
import { chunkColumnVector } from "./duckdb-vector-access.js";

/** Batch size limits; a batch ends at whichever comes first. */
export interface ArrowBatchOptions {
  /**
   * Rows per record batch; 65,536 by default. Batches of 64–128K rows move
   * fastest (fewer messages, the same copying).
   */
  batchRows?: number;
  /**
   * Buffered bytes after which a batch ends early; 2 MiB by default, checked
   * after each chunk (so a batch may pass it by one chunk). gRPC clients refuse
   * messages over 4 MiB unless configured otherwise, and wide string rows
   * would otherwise make 64K-row batches far larger than that.
   */
  batchBytes?: number;
}

/** Builds Arrow record batches from DuckDB data chunks. */
export interface ArrowBatchBuilder {
  /**
   * Adds the first `rows` rows of `chunk` (all by default) and returns the
   * batches this completed, possibly none.
   */
  append(chunk: DuckDBDataChunk, rows?: number): RecordBatch[];
  /** The last, partial batch, if any rows are pending. */
  flush(): RecordBatch[];
}

export const DEFAULT_BATCH_ROWS = 65_536;
export const DEFAULT_BATCH_BYTES = 2 * 1024 * 1024;
/** Rows in one DuckDB data chunk (its vector size). */
const DUCKDB_CHUNK_ROWS = 2048;

/**
 * Creates a batch builder for results laid out as `layout`. Each column is
 * filled by the builder its type mapping selects: fixed-width columns are
 * copied as whole buffers, the rest converted per type.
 */
export function createArrowBatchBuilder(
  layout: ArrowResultLayout,
  options: ArrowBatchOptions = {},
): ArrowBatchBuilder {
  const batchRows = Math.max(1, options.batchRows ?? DEFAULT_BATCH_ROWS);
  const batchBytes = Math.max(1, options.batchBytes ?? DEFAULT_BATCH_BYTES);
  // Buffers start at one DuckDB chunk and grow to what a batch needed, so a
  // small result does not allocate (and zero) megabytes for one batch.
  const capacity = Math.min(batchRows, DUCKDB_CHUNK_ROWS);
  const builders: ColumnBuilder[] = layout.columns.map((column) =>
    createColumnBuilder(column, capacity),
  );
  const structType = new Struct(layout.schema.fields);
  let pending = 0;

  function finishBatch(): RecordBatch {
    const children = builders.map((builder) => builder.finish());
    const length = pending;
    pending = 0;
    return new RecordBatch(
      layout.schema,
      makeData({ type: structType, length, nullCount: 0, children }),
    );
  }

  function bufferedBytes(): number {
    return builders.reduce((sum, builder) => sum + builder.byteLength, 0);
  }

  return {
    append(chunk, rows = chunk.rowCount) {
      const count = Math.min(rows, chunk.rowCount);
      if (count <= 0) return [];
      const sources = builders.map((builder, i) =>
        builder.read(chunkColumnVector(chunk, i), chunk.rowCount),
      );
      const done: RecordBatch[] = [];
      let start = 0;
      while (start < count) {
        const take = Math.min(count - start, batchRows - pending);
        builders.forEach((builder, i) => {
          builder.append(sources[i], start, take);
        });
        pending += take;
        start += take;
        if (pending === batchRows) done.push(finishBatch());
      }
      if (pending > 0 && bufferedBytes() >= batchBytes) done.push(finishBatch());
      return done;
    },
    flush() {
      return pending > 0 ? [finishBatch()] : [];
    },
  };
}
