import type * as http2 from "node:http2";

/**
 * The HTTP/2 flow-control window, per stream and per connection, that every
 * server and internal client advertises. Node's default (64 KiB) makes a
 * sender stop for a WINDOW_UPDATE round trip many times per 1–2 MiB message;
 * a window of a few messages lets the next one be produced while the last is
 * still in flight. Memory stays bounded: at most this much is buffered per peer.
 */
export const HTTP2_WINDOW_BYTES = 8 * 1024 * 1024;

/** Widens a session's connection-level receive window (the stream level is a setting). */
export function widenConnectionWindow(session: http2.Http2Session): void {
  if (!session.destroyed) session.setLocalWindowSize(HTTP2_WINDOW_BYTES);
}
