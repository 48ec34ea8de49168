import {
  AsyncByteQueue,
  type RecordBatch,
  RecordBatchStreamWriter,
  type Schema,
} from "apache-arrow";

/**
 * Keeps every byte the Arrow writer emits until `take` hands them out, so each
 * call of the writer maps to exactly the messages it produced.
 */
class MessageCapture extends AsyncByteQueue {
  private chunks: Uint8Array[] = [];

  override write(value: unknown): void {
    const bytes = value as ArrayBufferView;
    if (bytes.byteLength > 0) {
      this.chunks.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
  }

  take(): Uint8Array {
    const size = this.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    this.chunks = [];
    return out;
  }
}

/**
 * The separate messages of one Arrow IPC stream, for a transport that sends
 * them in different frames: concatenating `schemaMessage()`, every
 * `recordBatchMessage()` and `endOfStream()` in order gives a stream that
 * arrow-js, pyarrow and DuckDB read. The bytes come from apache-arrow's own
 * stream writer, so framing, padding and alignment are Arrow's.
 */
export interface IpcMessageWriter {
  /** The schema message. */
  schemaMessage(): Uint8Array;
  /**
   * One record batch message, preceded by dictionary batch messages the first
   * time a dictionary (an ENUM column's values) is used.
   */
  recordBatchMessage(batch: RecordBatch): Uint8Array;
  /** The end-of-stream marker. */
  endOfStream(): Uint8Array;
}

const END_OF_STREAM = new Uint8Array(Int32Array.of(-1, 0).buffer);

/** The end-of-stream marker: continuation token and a zero length. */
export function endOfStream(): Uint8Array {
  return END_OF_STREAM.slice();
}

/** Starts the messages of one stream with `schema`. */
export function createIpcMessageWriter(schema: Schema): IpcMessageWriter {
  const capture = new MessageCapture();
  const writer = new RecordBatchStreamWriter({ autoDestroy: false });
  writer.reset(capture, schema);
  const schemaBytes = capture.take();
  return {
    schemaMessage: () => schemaBytes.slice(),
    recordBatchMessage(batch) {
      writer.write(batch);
      return capture.take();
    },
    endOfStream,
  };
}

/** The schema message of `schema` alone. */
export function schemaMessage(schema: Schema): Uint8Array {
  return createIpcMessageWriter(schema).schemaMessage();
}
