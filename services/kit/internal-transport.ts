import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
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
    pingIntervalMs: 30_000,
    idleConnectionTimeoutMs: 5 * 60_000,
  });
}
