import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { HTTP2_WINDOW_BYTES, widenConnectionWindow } from "./http2-window.js";

/** A request handler that serves both HTTP/1.1 and HTTP/2 requests. */
export type DualHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options of {@link createProtocolListener}. */
export interface ProtocolListenerOptions {
  /** Serves every request, whatever the HTTP version. */
  handler: DualHandler;
  /** PEM certificate and key: when set, the port speaks TLS and picks the protocol by ALPN. */
  tls?: { cert: string; key: string } | undefined;
  /** HTTP/2 streams one client may have open at once. */
  maxConcurrentStreams: number;
  /** Largest request header block in bytes, on both protocols. */
  maxHeaderBytes: number;
}

/**
 * One port for every client: gRPC clients speak HTTP/2 (in plaintext, with
 * prior knowledge), browsers and curl speak HTTP/1.1. A plaintext HTTP/2
 * client always opens with the preface `PRI * HTTP/2.0`, so the first bytes of
 * a connection decide which server gets the socket; with TLS, ALPN decides.
 */
export interface ProtocolListener {
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /**
   * Stops accepting and asks clients to go away: HTTP/2 sessions get GOAWAY
   * and close once their streams end, HTTP/1.1 connections close once idle.
   * Resolves when every connection is gone.
   */
  close(): Promise<void>;
  /** Destroys every remaining connection. */
  destroy(): void;
}

const http2Preface = Buffer.from("PRI * HTTP/2.0");

/** Creates the listener; nothing is bound until `listen`. */
export function createProtocolListener(options: ProtocolListenerOptions): ProtocolListener {
  const h2 = http2.createServer({
    // maxHeaderListSize is what bounds received headers on HTTP/2 (a stream over
    // it is reset with ENHANCE_YOUR_CALM, which gRPC clients read as
    // RESOURCE_EXHAUSTED); maxSendHeaderBlockLength bounds the ones sent.
    settings: {
      maxConcurrentStreams: options.maxConcurrentStreams,
      maxHeaderListSize: options.maxHeaderBytes,
      initialWindowSize: HTTP2_WINDOW_BYTES,
    },
    maxSendHeaderBlockLength: options.maxHeaderBytes,
    maxSessionMemory: 64,
  });
  h2.on("request", (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => {
    // A client's first requests may arrive before it has acknowledged the
    // SETTINGS that carry maxHeaderListSize, so the limit is also checked here.
    if (headerBytes(request.rawHeaders) > options.maxHeaderBytes) {
      request.stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    options.handler(request, response);
  });
  const h1 = http.createServer({ maxHeaderSize: options.maxHeaderBytes }, options.handler);
  h1.keepAliveTimeout = 30_000;
  // http.Server only tracks idle connections it accepted itself, so the
  // requests in flight on each HTTP/1.1 socket are counted here.
  const h1Requests = new Map<net.Socket, number>();
  h1.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    const socket = request.socket;
    h1Requests.set(socket, (h1Requests.get(socket) ?? 0) + 1);
    response.on("close", () => {
      const left = (h1Requests.get(socket) ?? 1) - 1;
      h1Requests.set(socket, left);
      if (closing && left === 0) socket.end();
    });
  });
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    widenConnectionWindow(session);
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  let closing = false;

  const dispatch = (socket: net.Socket, useHttp2: boolean) => {
    if (closing && !useHttp2) {
      socket.destroy();
      return;
    }
    if (!useHttp2) {
      h1Requests.set(socket, 0);
      socket.on("close", () => h1Requests.delete(socket));
    }
    (useHttp2 ? h2 : h1).emit("connection", socket);
  };

  // The bytes are taken with read() in paused mode and unshifted: HTTP/2's
  // native session only sees them that way (bytes taken by a 'data' listener
  // never reach it).
  const sniff = (socket: net.Socket) => {
    let seen = Buffer.alloc(0);
    const onReadable = () => {
      for (let chunk = socket.read(); chunk !== null; chunk = socket.read()) {
        seen = Buffer.concat([seen, chunk as Buffer]);
      }
      const compared = Math.min(seen.length, http2Preface.length);
      const isHttp2 = seen.subarray(0, compared).equals(http2Preface.subarray(0, compared));
      if (seen.length === 0 || (isHttp2 && seen.length < http2Preface.length)) return;
      socket.off("readable", onReadable);
      socket.unshift(seen);
      dispatch(socket, isHttp2);
    };
    socket.on("readable", onReadable);
  };

  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  const server: net.Server = options.tls
    ? tls.createServer(
        { cert: options.tls.cert, key: options.tls.key, ALPNProtocols: ["h2", "http/1.1"] },
        (socket) => dispatch(socket, socket.alpnProtocol === "h2"),
      )
    : net.createServer(sniff);
  server.on("connection", track);

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address() as net.AddressInfo;
          resolve({ host: address.address, port: address.port });
        });
      });
    },
    async close() {
      closing = true;
      server.close();
      for (const session of sessions) session.close();
      for (const [socket, inFlight] of h1Requests) if (inFlight === 0) socket.end();
      while (sockets.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    },
    destroy() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Bytes of a header block as HTTP/2 counts them: name, value and 32 per field (RFC 9113 §6.5.2). */
function headerBytes(rawHeaders: readonly string[]): number {
  let total = 0;
  for (const field of rawHeaders) total += field.length;
  return total + 16 * rawHeaders.length;
}
