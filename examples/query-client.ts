// A complete TypeScript client: run one SQL query through the gateway and print
// the rows, decoding the Arrow stream batch by batch as it arrives.
//
//   LAKEHOUSE_TOKEN=... node --import tsx examples/query-client.ts "SELECT * FROM sales LIMIT 5"
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { RecordBatchReader } from "apache-arrow";
import { QueryService } from "../gen/lakehouse/query/v1/query_pb.js";

const transport = createGrpcTransport({
  baseUrl: process.env.LAKEHOUSE_URL ?? "http://127.0.0.1:8080",
  acceptCompression: [], // Arrow bytes barely compress; gzip would cost most of the throughput
  interceptors: [
    (next) => (request) => {
      request.header.set("authorization", `Bearer ${process.env.LAKEHOUSE_TOKEN ?? ""}`);
      return next(request);
    },
  ],
});
const query = createClient(QueryService, transport);

/** The `arrow_ipc` bytes of every message, in order: together, one Arrow IPC stream. */
async function* arrowBytes(sql: string) {
  for await (const response of query.executeQuery({ sql }, { timeoutMs: 60_000 })) {
    if (response.payload.case === "header") {
      for (const receipt of response.payload.value.receipts) {
        console.error(`read ${receipt.dataset} at version ${receipt.version}`);
      }
    }
    if (response.payload.case !== undefined) yield response.payload.value.arrowIpc;
  }
}

const reader = await RecordBatchReader.from(arrowBytes(process.argv[2] ?? "SELECT 42 AS answer"));
for await (const batch of reader) {
  for (const row of batch)
    console.log(JSON.stringify(row.toJSON(), (_, v) => (typeof v === "bigint" ? String(v) : v)));
}
