import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";

export { ServingStatus };

/**
 * The serving status of a process and of each service it hosts, as the gRPC
 * health protocol reports it. The empty name stands for the whole server.
 * Draining flips everything to NOT_SERVING so load balancers and probes stop
 * sending work before the process exits.
 */
export interface HealthRegistry {
  /** Sets the status of one service ("" for the whole server) and notifies watchers. */
  set(service: string, status: ServingStatus): void;
  /** Marks every known service NOT_SERVING. */
  drain(): void;
  /** The current status, or undefined for an unknown service. */
  get(service: string): ServingStatus | undefined;
  /** The `grpc.health.v1.Health` implementation backed by this registry. */
  readonly service: ServiceImpl<typeof Health>;
}

/** Creates a registry where the server and the given services start SERVING. */
export function createHealthRegistry(serviceNames: string[]): HealthRegistry {
  const statuses = new Map<string, ServingStatus>([["", ServingStatus.SERVING]]);
  for (const name of serviceNames) statuses.set(name, ServingStatus.SERVING);
  const watchers = new Set<() => void>();
  let draining = false;

  const notify = () => {
    for (const wake of watchers) wake();
  };
  const response = (status: ServingStatus): HealthCheckResponse =>
    create(HealthCheckResponseSchema, { status });

  const registry: HealthRegistry = {
    set(service, status) {
      statuses.set(service, status);
      notify();
    },
    drain() {
      draining = true;
      for (const name of statuses.keys()) statuses.set(name, ServingStatus.NOT_SERVING);
      notify();
    },
    get: (service) => statuses.get(service),
    service: {
      check(request) {
        const status = statuses.get(request.service);
        if (status === undefined) {
          throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
        }
        return response(status);
      },
      async *watch(request, context) {
        // Watch sends the current status, then every change, until the client
        // goes away or the server drains (the last message is then NOT_SERVING).
        let last: ServingStatus | undefined;
        while (!context.signal.aborted) {
          const status = statuses.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (status !== last) {
            last = status;
            yield response(status);
          }
          if (draining) return;
          await new Promise<void>((resolve) => {
            const wake = () => {
              watchers.delete(wake);
              context.signal.removeEventListener("abort", wake);
              resolve();
            };
            watchers.add(wake);
            context.signal.addEventListener("abort", wake);
          });
        }
      },
    },
  };
  return registry;
}
