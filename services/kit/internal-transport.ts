import type * as http2 from "node:http2";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { HTTP2_WINDOW_BYTES, widenConnectionWindow } from "./http2-window.js";
import { createClientTracing } from "./telemetry/rpc-tracing.js";

/** Options of {@link createInternalTransport}. */
export interface InternalTransportOptions {
  /** Largest message in either direction; match the server's `maxMessageBytes`. */
  maxMessageBytes: number;
  /** Client interceptors (tracing, service credentials). */
  interceptors?: Interceptor[];
}

/**
 * The transport for calls between services: gRPC over HTTP/2 cleartext on
 * loopback or the cluster network, one multiplexed session per peer, a
 * CLIENT span per call carrying the trace to the peer, and no
 * compression (Arrow and object bytes barely compress and gzip costs ~8× the
 * throughput).
 */
export function createInternalTransport(
  baseUrl: string,
  options: InternalTransportOptions,
): Transport {
  return createGrpcTransport({
    baseUrl,
    acceptCompression: [],
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
    interceptors: [createClientTracing(), ...(options.interceptors ?? [])],
    sessionManager: new WideWindowSessionManager(baseUrl),
  });
}

/** connect-node's session manager, with the wide HTTP/2 window on every session it opens. */
class WideWindowSessionManager extends Http2SessionManager {
  private readonly widened = new WeakSet<http2.ClientHttp2Session>();

  constructor(baseUrl: string) {
    super(
      baseUrl,
      { pingIntervalMs: 30_000, idleConnectionTimeoutMs: 5 * 60_000 },
      { settings: { initialWindowSize: HTTP2_WINDOW_BYTES } },
    );
  }

  override async request(
    ...args: Parameters<Http2SessionManager["request"]>
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(...args);
    const session = stream.session;
    if (session && !this.widened.has(session as http2.ClientHttp2Session)) {
      this.widened.add(session as http2.ClientHttp2Session);
      widenConnectionWindow(session);
    }
    return stream;
  }
}
