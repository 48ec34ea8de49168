import { DuckDBInstance } from "@duckdb/node-api";
import { Field, Int32, MessageHeader, MessageReader, Schema, tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { endOfStream, schemaMessage } from "./arrow-ipc-messages.js";
import { createArrowResultEncoder } from "./arrow-result-encoder.js";

const CONTINUATION = 0xffffffff;

function firstWord(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
}

describe("Arrow IPC stream messages", () => {
  it("makes a schema message and end-of-stream marker that read back as an empty table", () => {
    const schema = new Schema([new Field("a", new Int32(), true)]);
    const schemaBytes = schemaMessage(schema);
    expect(firstWord(schemaBytes)).toBe(CONTINUATION);
    expect(schemaBytes.byteLength % 8).toBe(0);
    expect(Array.from(endOfStream())).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const table = tableFromIPC([schemaBytes, endOfStream()]);
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(["a:Int32"]);
  });

  it("sends each message separately, with an ENUM dictionary only before the first batch", async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      const result = await connection.stream(
        "SELECT (['x', 'y'])[1 + i % 2]::ENUM('x', 'y') AS e, i FROM range(5000) t(i)",
      );
      const encoder = createArrowResultEncoder(result.columnNames(), result.columnTypes(), {
        batchRows: 2048,
      });
      const batches: Uint8Array[] = [];
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        batches.push(...encoder.encode(chunk).map((m) => m.bytes));
      }
      batches.push(...encoder.flush().map((m) => m.bytes));
      expect(batches).toHaveLength(3);
      for (const batch of batches) expect(firstWord(batch)).toBe(CONTINUATION);
      const headers = (bytes: Uint8Array) => {
        const reader = new MessageReader(bytes);
        const names: string[] = [];
        for (let next = reader.next(); !next.done; next = reader.next()) {
          names.push(MessageHeader[next.value.headerType] ?? "unknown");
          reader.readMessageBody(next.value.bodyLength);
        }
        return names;
      };
      expect(headers(encoder.schemaMessage())).toEqual(["Schema"]);
      expect(headers(batches[0]!)).toEqual(["DictionaryBatch", "RecordBatch"]);
      expect(headers(batches[1]!)).toEqual(["RecordBatch"]);
      expect(headers(batches[2]!)).toEqual(["RecordBatch"]);

      const table = tableFromIPC([encoder.schemaMessage(), ...batches, encoder.endOfStream()]);
      expect(table.numRows).toBe(5000);
      expect(table.getChild("e")?.get(4097)).toBe("y");
      expect(table.getChild("i")?.get(4999)).toBe(4999n);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
