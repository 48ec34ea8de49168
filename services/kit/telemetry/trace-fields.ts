import { context, isSpanContextValid, trace } from "@opentelemetry/api";

/** The log fields that tie a line to its trace. */
export interface TraceFields {
  trace_id?: string;
  span_id?: string;
}

/**
 * `trace_id` and `span_id` of the span active where a line is logged, so a
 * log line leads to its trace and back; empty outside any span (and always
 * when no SDK runs).
 */
export function activeTraceFields(): TraceFields {
  const spanContext = trace.getSpanContext(context.active());
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
