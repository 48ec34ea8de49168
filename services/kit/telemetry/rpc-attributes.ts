import { Code, ConnectError } from "@connectrpc/connect";
import { type Attributes, type Span, SpanKind, SpanStatusCode } from "@opentelemetry/api";

/** The `rpc.system` values of the OTel RPC semantic conventions this mesh speaks. */
export type RpcSystem = "grpc" | "connect_rpc";

/**
 * The protocol of a call from its content type: gRPC and gRPC-Web count as
 * `grpc` (same status codes, same trailers), everything else Connect serves
 * as `connect_rpc`.
 */
export function rpcSystemOf(header: Headers): RpcSystem {
  return (header.get("content-type") ?? "").startsWith("application/grpc") ? "grpc" : "connect_rpc";
}

/** What {@link rpcAttributes} reads from a Connect request. */
export interface RpcCall {
  readonly service: { readonly typeName: string };
  readonly method: { readonly name: string };
  readonly url: string;
  readonly header: Headers;
}

/**
 * The span name (`package.Service/Method`) and attributes an RPC span starts
 * with. Only the call's identity and address: no header is ever copied, so
 * credentials cannot end up in a span.
 */
export function rpcAttributes(call: RpcCall): {
  name: string;
  system: RpcSystem;
  attributes: Attributes;
} {
  const system = rpcSystemOf(call.header);
  const attributes: Attributes = {
    "rpc.system": system,
    "rpc.service": call.service.typeName,
    "rpc.method": call.method.name,
  };
  const url = URL.canParse(call.url) ? new URL(call.url) : undefined;
  if (url !== undefined) {
    attributes["server.address"] = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    attributes["server.port"] = port;
  }
  return { name: `${call.service.typeName}/${call.method.name}`, system, attributes };
}

/** Server spans turn ERROR only for codes that mean the server failed, as the conventions say. */
const serverFaults = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/** `NotFound` → `not_found`, the Connect protocol's spelling of a code. */
function connectCodeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(
    /[A-Z]/g,
    (letter, index: number) => `${index === 0 ? "" : "_"}${letter.toLowerCase()}`,
  );
}

/**
 * Records how a call ended: `rpc.grpc.status_code` (gRPC, OK included) or
 * `rpc.connect_rpc.error_code` (Connect, errors only), and ERROR status for
 * every failed client call and for server calls whose code is the server's
 * fault. The status message is the error's own message, never its metadata.
 */
export function recordRpcOutcome(
  span: Span,
  kind: SpanKind,
  system: RpcSystem,
  error?: unknown,
): void {
  if (error === undefined) {
    // gRPC's OK; Connect has no code for success.
    if (system === "grpc") span.setAttribute("rpc.grpc.status_code", 0);
    return;
  }
  const connectError = ConnectError.from(error);
  const codeName = connectCodeName(connectError.code);
  if (system === "grpc") span.setAttribute("rpc.grpc.status_code", connectError.code);
  else span.setAttribute("rpc.connect_rpc.error_code", codeName);
  span.setAttribute("error.type", codeName);
  if (kind === SpanKind.CLIENT || serverFaults.has(connectError.code)) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: connectError.rawMessage });
  }
}
