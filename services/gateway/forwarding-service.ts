import type {
  DescMessage,
  DescMethod,
  DescMethodBiDiStreaming,
  DescMethodClientStreaming,
  DescMethodServerStreaming,
  DescMethodStreaming,
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type HandlerContext,
  type Transport,
} from "@connectrpc/connect";
import type { ServiceRegistration } from "../kit/server.js";
import { copyResponseHeaders, forwardedRequestHeaders } from "./forwarded-headers.js";
import { forwardedError } from "./upstream-error.js";

/**
 * Serves every RPC of `service` by making the same call on `transport`: one
 * generic forwarder, chosen per method by its kind, so a new RPC in the
 * contract is forwarded without code here. Each call gets the deadline
 * `timeoutOf` decides (by default the client's remaining one), ends when the
 * client goes away, carries end-to-end
 * headers both ways, streams message by message (nothing is collected; the
 * transports' flow control pushes back on whichever side is faster), and
 * passes the internal service's errors on with their code, message and details.
 */
export function createForwardingService(
  service: DescService,
  transport: Transport,
  timeoutOf: (context: HandlerContext) => number | undefined = remainingTimeoutMs,
): ServiceRegistration {
  const forwarding = { transport, timeoutOf };
  return {
    service,
    register(router) {
      for (const method of service.methods) registerForwarder(router, method, forwarding);
    },
  };
}

/** How calls are forwarded: the transport to the service and each call's deadline. */
interface Forwarding {
  readonly transport: Transport;
  readonly timeoutOf: (context: HandlerContext) => number | undefined;
}

/** Registers one method's forwarder; each cast only restates what `methodKind` says. */
function registerForwarder(
  router: ConnectRouter,
  method: DescMethod,
  forwarding: Forwarding,
): void {
  const { transport } = forwarding;
  switch (method.methodKind) {
    case "unary": {
      const unary = method as DescMethodUnary;
      router.rpc(unary, async (request, context) => {
        try {
          const response = await transport.unary(
            unary,
            context.signal,
            forwarding.timeoutOf(context),
            forwardedRequestHeaders(context.requestHeader),
            request,
          );
          copyResponseHeaders(response.header, context.responseHeader);
          copyResponseHeaders(response.trailer, context.responseTrailer);
          return response.message;
        } catch (error) {
          throw forwardedError(error, unary.parent.typeName, context.signal);
        }
      });
      return;
    }
    case "server_streaming": {
      const serverStreaming = method as DescMethodServerStreaming;
      router.rpc(serverStreaming, (request, context) =>
        forwardStream(forwarding, serverStreaming, oneMessage(request), context),
      );
      return;
    }
    case "client_streaming": {
      const clientStreaming = method as DescMethodClientStreaming;
      router.rpc(clientStreaming, async (requests, context) => {
        // The answer is one message; it is held only to check there is exactly one.
        const answers: MessageShape<DescMessage>[] = [];
        for await (const answer of forwardStream(forwarding, clientStreaming, requests, context)) {
          answers.push(answer);
        }
        const [answer] = answers;
        if (answer === undefined || answers.length > 1) {
          throw new ConnectError(
            `protocol error: ${method.parent.typeName}/${method.name} answered ${answers.length} messages`,
            Code.Internal,
          );
        }
        return answer;
      });
      return;
    }
    case "bidi_streaming": {
      const bidiStreaming = method as DescMethodBiDiStreaming;
      router.rpc(bidiStreaming, (requests, context) =>
        forwardStream(forwarding, bidiStreaming, requests, context),
      );
      return;
    }
  }
}

/**
 * Makes one streaming call upstream and yields its answers as they arrive;
 * headers are copied before the first answer (the server sends them with
 * it) and trailers after the last.
 */
async function* forwardStream<I extends DescMessage, O extends DescMessage>(
  forwarding: Forwarding,
  method: DescMethodStreaming<I, O>,
  requests: AsyncIterable<MessageInitShape<I>>,
  context: HandlerContext,
): AsyncGenerator<MessageShape<O>> {
  try {
    const response = await forwarding.transport.stream(
      method,
      context.signal,
      forwarding.timeoutOf(context),
      forwardedRequestHeaders(context.requestHeader),
      requests,
    );
    copyResponseHeaders(response.header, context.responseHeader);
    yield* response.message;
    copyResponseHeaders(response.trailer, context.responseTrailer);
  } catch (error) {
    throw forwardedError(error, method.parent.typeName, context.signal);
  }
}

/**
 * The default deadline: the client's remaining one, if it set one. Never 0: the transport
 * reads 0 as "no deadline", and a spent deadline must still fail upstream.
 */
function remainingTimeoutMs(context: HandlerContext): number | undefined {
  const remaining = context.timeoutMs();
  return remaining === undefined ? undefined : Math.max(1, remaining);
}

async function* oneMessage<T>(message: T): AsyncGenerator<T> {
  yield message;
}
