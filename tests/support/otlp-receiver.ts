import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { decodeExportTraceRequest, type OtlpSpan } from "./otlp-trace-decoder.js";

/** A running OTLP/HTTP trace receiver. */
export interface OtlpReceiver {
  /** The base URL for `OTEL_EXPORTER_OTLP_ENDPOINT` (spans go to `/v1/traces`). */
  readonly url: string;
  /** Every span received so far, decoded. */
  readonly spans: OtlpSpan[];
  /** Every request body received, as sent (to search for what must not be there). */
  readonly bodies: Uint8Array[];
  /** Paths of requests that were not trace exports. */
  readonly otherPaths: string[];
  /** Resolves once `predicate` holds for the spans received, polling until `timeoutMs`. */
  waitFor(predicate: (spans: OtlpSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return request.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
}

/**
 * Starts a real OTLP/HTTP receiver on 127.0.0.1 and a free port: accepts
 * `application/x-protobuf` ExportTraceServiceRequest posts on `/v1/traces`,
 * decodes them and answers an empty ExportTraceServiceResponse.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: OtlpSpan[] = [];
  const bodies: Uint8Array[] = [];
  const otherPaths: string[] = [];
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const isTraceExport =
        request.method === "POST" &&
        request.url === "/v1/traces" &&
        request.headers["content-type"] === "application/x-protobuf";
      if (!isTraceExport) {
        otherPaths.push(`${request.method} ${request.url} ${request.headers["content-type"]}`);
        response.writeHead(404).end();
        return;
      }
      bodies.push(body);
      spans.push(...decodeExportTraceRequest(body));
      response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    otherPaths,
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > deadline) throw new Error(`spans not received within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
