import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import { recordRpcOutcome, rpcAttributes } from "./rpc-attributes.js";
import { traceStream } from "./traced-stream.js";
import { lakehouseTracer } from "./tracer.js";

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

const headerSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/**
 * One RPC span per call, ended when the call ends: for a streaming response,
 * when its last message has gone (or the stream failed or was dropped), not
 * when the handler returned its iterator. The response stream's steps run
 * in the span's context, so spans made while producing messages are its
 * children. `parentOf` picks the parent context and may write the
 * propagation headers.
 */
function createRpcTracing(
  kind: SpanKind,
  parentOf: (header: Headers) => Context,
  propagate: (ctx: Context, header: Headers) => void,
): Interceptor {
  return (next) => async (request) => {
    const { name, system, attributes } = rpcAttributes(request);
    const parent = parentOf(request.header);
    const span = lakehouseTracer().startSpan(name, { kind, attributes }, parent);
    const ctx = trace.setSpan(parent, span);
    propagate(ctx, request.header);
    let spanEnded = false;
    const end = (error?: unknown) => {
      if (spanEnded) return;
      spanEnded = true;
      recordRpcOutcome(span, kind, system, error);
      span.end();
    };
    try {
      const response = await context.with(ctx, () => next(request));
      if (!response.stream) {
        end();
        return response;
      }
      // A stream its consumer cancels may never be read again: the abort ends the span.
      const abandoned = () => end(ConnectError.from(request.signal.reason, Code.Canceled));
      request.signal.addEventListener("abort", abandoned, { once: true });
      const ended = (error?: unknown) => {
        request.signal.removeEventListener("abort", abandoned);
        end(error);
      };
      return { ...response, message: traceStream(response.message, ctx, ended) };
    } catch (error) {
      end(error);
      throw error;
    }
  };
}

/**
 * The server side: continues the trace named by the request's
 * `traceparent`/`tracestate` (W3C, or whatever `OTEL_PROPAGATORS` chose), or
 * starts one, and runs the handler inside a SERVER span. Installed first on
 * every server, so logging and everything after it see the span. Health and
 * reflection calls are not traced.
 */
export function createServerTracing(): Interceptor {
  const tracing = createRpcTracing(
    SpanKind.SERVER,
    (header) => propagation.extract(ROOT_CONTEXT, header, headerGetter),
    () => {},
  );
  return (next) => {
    const traced = tracing(next);
    return (request) => (untracedServices.test(request.service.typeName) ? next : traced)(request);
  };
}

/**
 * gRPC's own services (health, reflection): probes call health every few
 * seconds per pod, and a trace per probe would bury the calls that matter.
 */
const untracedServices = /^grpc\./;

/**
 * The client side: a CLIENT span, child of whatever span is active where the
 * call is made, written into the outgoing `traceparent`/`tracestate` so the
 * next service continues the same trace. Without an SDK nothing is written
 * and headers set by the caller pass unchanged.
 */
export function createClientTracing(): Interceptor {
  return createRpcTracing(
    SpanKind.CLIENT,
    () => context.active(),
    (ctx, header) => propagation.inject(ctx, header, headerSetter),
  );
}
