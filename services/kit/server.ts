import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor, ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { z } from "zod";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createCallLogging, createCallTracker } from "./call-tracking.js";
import { createHealthRegistry, type HealthRegistry } from "./health.js";
import { requestContextValues } from "./identity/bearer-token.js";
import { listenAddressSetting, splitListenAddress } from "./listen-address.js";
import type { Logger } from "./logger.js";
import { createProtocolListener, type DualHandler } from "./protocol-listener.js";
import { createReflectionService, createReflectionServiceV1alpha } from "./reflection.js";
import { createServerTracing } from "./telemetry/rpc-tracing.js";

/** A service and its implementation, ready to be routed. Missing methods answer UNIMPLEMENTED. */
export interface ServiceRegistration {
  readonly service: DescService;
  readonly register: (router: ConnectRouter) => void;
}

/** Pairs a generated service with its (possibly partial) implementation. */
export function registration<T extends DescService>(
  service: T,
  impl: Partial<ServiceImpl<T>>,
): ServiceRegistration {
  return { service, register: (router) => router.service(service, impl) };
}

/**
 * Settings every server has, embedded in each service's config section.
 * Defaults are deliberate: connect's own message limit is ~4 GiB.
 */
export function serverSettings(defaultListen: string) {
  return {
    listen: listenAddressSetting(defaultListen),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
    /** Largest single message, in or out. */
    maxMessageBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    maxConcurrentStreams: z.number().int().min(1).max(10_000).default(256),
    maxHeaderBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(16 * 1024),
    /** How long in-flight calls may take to finish after SIGTERM before they are cut. */
    drainTimeoutMs: z.number().int().min(0).max(600_000).default(15_000),
  };
}

/** The values of {@link serverSettings}. */
export type ServerSettings = {
  [K in keyof ReturnType<typeof serverSettings>]: z.output<ReturnType<typeof serverSettings>[K]>;
};

/** How long idle connections may stay open once every call has finished draining. */
const connectionGraceMs = 1_000;

/** Waits for `work` at most `ms`; resolves true when the time ran out first. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
  });
  const outcome = await Promise.race([work.then(() => false as const), timeout]);
  clearTimeout(timer);
  return outcome;
}

/** Options of {@link createServiceServer}. */
export interface ServiceServerOptions {
  services: ServiceRegistration[];
  settings: ServerSettings;
  logger: Logger;
  /** Interceptors that run after call tracking, tracing and logging (auth, validation). */
  interceptors?: Interceptor[];
  /** Wraps the HTTP handler, e.g. for CORS or static files. */
  wrapHandler?: (handler: DualHandler) => DualHandler;
  tls?: { cert: string; key: string } | undefined;
}

/** A running (or ready to run) server. */
export interface ServiceServer {
  readonly health: HealthRegistry;
  /** Binds `settings.listen`; resolves with the base URL (the real port when 0 was asked). */
  start(): Promise<URL>;
  /**
   * Health turns NOT_SERVING, the port stops accepting, in-flight calls finish
   * (streams included), then connections close; after `drainTimeoutMs` the rest
   * is cut.
   */
  shutdown(): Promise<void>;
}

/**
 * Builds the server every service runs: Connect, gRPC and gRPC-Web on one
 * port (HTTP/2 and HTTP/1.1), gRPC health and reflection, explicit message
 * limits, uncompressed responses (compressing Arrow and object bytes costs
 * more than it saves), a trace span per call, call logging and graceful drain.
 */
export function createServiceServer(options: ServiceServerOptions): ServiceServer {
  const { settings, logger } = options;
  const names = options.services.map((s) => s.service.typeName);
  const descriptors = options.services.map((s) => s.service);
  const health = createHealthRegistry(names);
  const tracker = createCallTracker();
  const shutdownController = new AbortController();
  const handler = connectNodeAdapter({
    routes(router) {
      for (const service of options.services) service.register(router);
      router.service(Health, health.service);
      router.service(ServerReflection, createReflectionService([...descriptors, Health]));
      router.service(
        ServerReflectionV1alpha,
        createReflectionServiceV1alpha([...descriptors, Health]),
      );
    },
    readMaxBytes: settings.maxMessageBytes,
    writeMaxBytes: settings.maxMessageBytes,
    acceptCompression: [],
    shutdownSignal: shutdownController.signal,
    // The raw authorization fields, so "exactly one" can be enforced (Node keeps only the first).
    contextValues: requestContextValues,
    interceptors: [
      tracker.interceptor,
      createServerTracing(),
      createCallLogging(logger),
      ...(options.interceptors ?? []),
    ],
  }) as DualHandler;
  const listener = createProtocolListener({
    handler: options.wrapHandler ? options.wrapHandler(handler) : handler,
    tls: options.tls,
    maxConcurrentStreams: settings.maxConcurrentStreams,
    maxHeaderBytes: settings.maxHeaderBytes,
  });
  let shuttingDown: Promise<void> | undefined;

  return {
    health,
    async start() {
      const { host, port } = splitListenAddress(settings.listen);
      const bound = await listener.listen(host, port);
      const scheme = options.tls ? "https" : "http";
      const url = new URL(
        `${scheme}://${bound.host.includes(":") ? `[${bound.host}]` : bound.host}:${bound.port}`,
      );
      logger.info("listening", { url: url.origin, services: names });
      return url;
    },
    shutdown() {
      shuttingDown ??= (async () => {
        logger.info("draining", { activeCalls: tracker.active() });
        health.drain();
        const closing = listener.close();
        const cut = await settleWithin(tracker.idle(), settings.drainTimeoutMs);
        if (cut) {
          logger.warn("drain timed out; cutting calls", { activeCalls: tracker.active() });
          shutdownController.abort();
        }
        // Once no call runs, clients get a moment to hang up by themselves;
        // connections still open after that (a client that never closes) are cut.
        if (!cut) await settleWithin(closing, connectionGraceMs);
        listener.destroy();
        logger.info("stopped");
      })();
      return shuttingDown;
    },
  };
}
