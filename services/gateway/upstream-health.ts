import { create, type DescService, isMessage } from "@bufbuild/protobuf";
import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";

/**
 * How long the gateway waits for a service's health answer. A probe or a
 * script checking one service wants a prompt answer; a service that cannot
 * answer its own health check within this time would not serve calls either.
 */
export const UPSTREAM_HEALTH_TIMEOUT_MS = 1_500;

/** A public service and the internal transport its calls are forwarded over. */
export interface Upstream {
  readonly service: DescService;
  readonly transport: Transport;
}

/**
 * Makes the gateway's `grpc.health.v1.Health/Check` for a forwarded service
 * (`lakehouse.query.v1.QueryService`, ...) tell whether calls to it can be
 * served: the gateway's own answer (the kit's health registry: SERVING
 * unless it drains) is kept when it is not SERVING; otherwise the service
 * behind it is asked the same Check over the forwarding transport, within
 * `timeoutMs`, and SERVING stands only if it answers SERVING. An error, an
 * unreachable service or no answer in time gives NOT_SERVING. The empty name
 * (the gateway as a whole) and every other call pass untouched, so liveness
 * never depends on an upstream. `Watch` keeps reporting the gateway's own
 * status.
 */
export function createUpstreamHealthInterceptor(
  upstreams: readonly Upstream[],
  timeoutMs: number = UPSTREAM_HEALTH_TIMEOUT_MS,
): Interceptor {
  const transports = new Map(upstreams.map((u) => [u.service.typeName, u.transport]));
  return (next) => async (request) => {
    const response = await next(request);
    if (
      response.stream ||
      request.service.typeName !== Health.typeName ||
      request.method.name !== Health.method.check.name ||
      !isMessage(request.message, HealthCheckRequestSchema) ||
      !isMessage(response.message, HealthCheckResponseSchema) ||
      response.message.status !== ServingStatus.SERVING
    ) {
      return response;
    }
    const transport = transports.get(request.message.service);
    if (transport === undefined) return response;
    const status = await upstreamStatus(
      transport,
      request.message.service,
      request.signal,
      timeoutMs,
    );
    return { ...response, message: create(HealthCheckResponseSchema, { status }) };
  };
}

/** Asks the service behind `transport` for its status; any failure to answer is NOT_SERVING. */
async function upstreamStatus(
  transport: Transport,
  service: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<ServingStatus> {
  try {
    const answer = await transport.unary(Health.method.check, signal, timeoutMs, undefined, {
      service,
    });
    return answer.message.status === ServingStatus.SERVING
      ? ServingStatus.SERVING
      : ServingStatus.NOT_SERVING;
  } catch {
    // Refused, unreachable, timed out or unknown there: whatever the cause,
    // calls to it would not be served now.
    return ServingStatus.NOT_SERVING;
  }
}
