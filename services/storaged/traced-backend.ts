import { Code, ConnectError } from "@connectrpc/connect";
import type { Attributes, Span } from "@opentelemetry/api";
import { lakehouseTracer, recordFailure } from "../kit/telemetry/tracer.js";
import type { ObjectBackend, ObjectInfo } from "./object-backend.js";

/**
 * Wraps a backend so each call is a span (`storage.put`, `storage.get`,
 * `storage.head`, `storage.list`, `storage.delete`) with the key or prefix and
 * the object size, child of the RPC that made it: a slow request shows
 * whether the time went to the disk or bucket or to the network. A read's
 * span lasts until its body has been streamed.
 */
export function createTracedBackend(backend: ObjectBackend, kind: string): ObjectBackend {
  const start = (operation: string, attributes: Attributes) =>
    lakehouseTracer().startSpan(`storage.${operation}`, {
      attributes: { "lakehouse.storage.backend": kind, ...attributes },
    });
  const settle = async <T>(span: Span, work: Promise<T>, after?: (value: T) => void) => {
    try {
      const value = await work;
      after?.(value);
      return value;
    } catch (error) {
      recordOutcome(span, error);
      throw error;
    } finally {
      span.end();
    }
  };
  const sized = (span: Span) => (info: ObjectInfo) =>
    span.setAttribute("lakehouse.storage.size", info.size);
  return {
    put(key, body, options) {
      const span = start("put", { "lakehouse.storage.key": key });
      return settle(span, backend.put(key, body, options), sized(span));
    },
    async get(key, range) {
      const span = start("get", {
        "lakehouse.storage.key": key,
        ...(range ? { "lakehouse.storage.range_offset": range.offset } : {}),
      });
      let read: Awaited<ReturnType<ObjectBackend["get"]>>;
      try {
        read = await backend.get(key, range);
      } catch (error) {
        recordOutcome(span, error);
        span.end();
        throw error;
      }
      span.setAttribute("lakehouse.storage.size", read.info.size);
      return { info: read.info, body: spanUntilDrained(read.body, span) };
    },
    head(key) {
      const span = start("head", { "lakehouse.storage.key": key });
      return settle(span, backend.head(key), sized(span));
    },
    list(prefix, pageSize, pageToken, options) {
      const span = start("list", { "lakehouse.storage.prefix": prefix });
      return settle(span, backend.list(prefix, pageSize, pageToken, options), (page) =>
        span.setAttribute("lakehouse.storage.objects", page.objects.length),
      );
    },
    delete(key, options) {
      const span = start("delete", { "lakehouse.storage.key": key });
      return settle(span, backend.delete(key, options), (deleted) =>
        span.setAttribute("lakehouse.storage.deleted", deleted),
      );
    },
    close: () => backend.close(),
  };
}

/** Streams a body and ends its span once it is drained, failed or dropped. */
async function* spanUntilDrained(
  body: AsyncIterable<Uint8Array>,
  span: Span,
): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  try {
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      yield chunk;
    }
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.setAttribute("lakehouse.storage.bytes_read", bytes);
    span.end();
  }
}

/**
 * An absent object is an answer, not a fault: callers probe for objects
 * (the catalog looks for the next snapshot) and a red span per probe would
 * hide real failures.
 */
function recordOutcome(span: Span, error: unknown): void {
  if (error instanceof ConnectError && error.code === Code.NotFound) {
    span.setAttribute("lakehouse.storage.found", false);
    return;
  }
  recordFailure(span, error);
}
