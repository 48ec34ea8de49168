import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { type Table, tableFromIPC } from "apache-arrow";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import {
  type ExecuteQueryRequestSchema,
  type QueryHeader,
  QueryService,
  type QuerySummary,
} from "../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { createInternalTransport } from "../../services/kit/internal-transport.js";

const run = promisify(execFile);

/** The admin token of each gateway `startSystem` started, by origin. */
const gatewayTokens = new Map<string, string>();

/** Makes {@link gatewayClients} and {@link bufCurl} authenticate to `url` with `token`. */
export function registerGatewayToken(url: URL, token: string): void {
  gatewayTokens.set(url.origin, token);
}

/** Adds `authorization: Bearer <token>` to every call. */
export function bearer(token: string): Interceptor {
  return (next) => async (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

/**
 * connect-node gRPC clients of the four public services, through one base
 * URL, sending `token` (by default the admin token of a system `startSystem`
 * started there).
 */
export function gatewayClients(url: URL, token = gatewayTokens.get(url.origin)) {
  const transport = createInternalTransport(url.origin, {
    maxMessageBytes: 64 << 20,
    interceptors: token === undefined ? [] : [bearer(token)],
  });
  return {
    storage: createClient(StorageService, transport),
    catalog: createClient(CatalogService, transport),
    query: createClient(QueryService, transport),
    ai: createClient(AiService, transport),
  };
}

/** A query result read whole from the stream. */
export interface QueryAnswer {
  header: QueryHeader;
  summary: QuerySummary;
  jsonRows: string[];
  /** The concatenated `arrow_ipc` fields: a complete Arrow IPC stream. */
  ipc: Uint8Array;
  table(): Table;
}

/** Runs ExecuteQuery and collects every message. */
export async function collectQuery(
  client: ReturnType<typeof gatewayClients>["query"],
  request: MessageInitShape<typeof ExecuteQueryRequestSchema>,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<QueryAnswer> {
  let header: QueryHeader | undefined;
  let summary: QuerySummary | undefined;
  const parts: Uint8Array[] = [];
  const jsonRows: string[] = [];
  for await (const response of client.executeQuery(request, options)) {
    const payload = response.payload;
    if (payload.case === undefined) continue;
    parts.push(payload.value.arrowIpc);
    if (payload.case === "header") header = payload.value;
    if (payload.case === "batch") jsonRows.push(...payload.value.jsonRows);
    if (payload.case === "summary") summary = payload.value;
  }
  if (!header || !summary) throw new Error("stream ended without header or summary");
  const ipc = Buffer.concat(parts);
  return { header, summary, jsonRows, ipc, table: () => tableFromIPC(ipc) };
}

/**
 * `buf curl` against a server's reflection, returning its stdout; a call to
 * a gateway `startSystem` started carries its admin token.
 */
export async function bufCurl(args: string[]): Promise<string> {
  const token = [...gatewayTokens].find(([origin]) => args.some((a) => a.startsWith(origin)))?.[1];
  const auth = token === undefined ? [] : ["-H", `authorization: Bearer ${token}`];
  const { stdout } = await run(
    "npx",
    ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge", ...auth, ...args],
    { maxBuffer: 256 << 20 },
  );
  return stdout;
}
