/**
 * Fields that never cross the gateway: those of one connection (RFC 9110
 * §7.6.1), those the transport writes itself for the hop it makes (framing,
 * encodings, date), and those only a browser's hop means (origin, gRPC-Web's
 * own headers; the internal hop speaks gRPC).
 */
const hopHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
  "host",
  "content-length",
  "content-type",
  "content-encoding",
  "accept-encoding",
  "date",
  "origin",
  "x-grpc-web",
  "x-user-agent",
]);

/**
 * Prefixes the RPC protocols reserve — `grpc-` (timeout, encodings, status),
 * `connect-` (protocol version, timeout, encodings) — and CORS's. Each hop
 * derives these from the call itself (its deadline, its outcome, its origin),
 * never from the other hop's values.
 */
const protocolPrefixes = ["grpc-", "connect-", "access-control-"];

function isEndToEnd(name: string, connectionListed: ReadonlySet<string>): boolean {
  const lower = name.toLowerCase();
  if (hopHeaders.has(lower) || connectionListed.has(lower)) return false;
  for (const prefix of protocolPrefixes) if (lower.startsWith(prefix)) return false;
  return true;
}

/** Shared by every message without a `Connection` header (all of HTTP/2), so none allocates. */
const noneListed: ReadonlySet<string> = new Set();

/** Names a sender declared hop-by-hop in its `Connection` header. */
function listedInConnection(headers: Headers): ReadonlySet<string> {
  const listed = headers.get("connection");
  if (listed === null) return noneListed;
  return new Set(
    listed
      .split(",")
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ""),
  );
}

/**
 * The request headers a call carries on to the internal service: everything
 * end to end (authorization, traceparent, tracestate, x-request-id, custom
 * headers, binary `-bin` headers) and nothing of the client's own hop.
 */
export function forwardedRequestHeaders(incoming: Headers): Headers {
  const connectionListed = listedInConnection(incoming);
  const forwarded = new Headers();
  incoming.forEach((value, name) => {
    if (isEndToEnd(name, connectionListed)) forwarded.append(name, value);
  });
  return forwarded;
}

/**
 * Copies an internal service's response headers or trailers to the gateway's
 * answer. Protocol fields are left out: the gateway's own server writes them
 * for the protocol its client speaks (Connect JSON, gRPC-Web, gRPC), and an
 * upstream value replaces one set earlier under the same name.
 */
export function copyResponseHeaders(from: Headers, to: Headers): void {
  const connectionListed = listedInConnection(from);
  from.forEach((value, name) => {
    if (isEndToEnd(name, connectionListed)) to.set(name, value);
  });
}
