import type { z } from "zod";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import {
  createServiceServer,
  type ServerSettings,
  type ServiceRegistration,
  type ServiceServerOptions,
} from "./server.js";
import { shutdownTelemetry } from "./telemetry/telemetry-sdk.js";

/** What a service builds from its config: its RPCs, and what to release on exit. */
export interface ServiceParts {
  services: ServiceRegistration[];
  interceptors?: ServiceServerOptions["interceptors"];
  wrapHandler?: ServiceServerOptions["wrapHandler"];
  tls?: ServiceServerOptions["tls"];
  /** Releases resources after the server has drained. */
  close?: () => Promise<void> | void;
}

/** Options of {@link runService}. */
export interface RunServiceOptions<S extends z.ZodObject> {
  /** The service name: its config section and its log `service` field. */
  name: string;
  /** The section's schema; it must include {@link serverSettings}. */
  schema: S;
  build: (config: z.output<S>, logger: Logger) => Promise<ServiceParts>;
}

/**
 * The whole life of a service process: load and validate config (a bad value
 * stops the process with exit code 2 and a message naming the key), build the
 * service, serve, and on SIGTERM or SIGINT drain and exit 0.
 */
export async function runService<S extends z.ZodObject>(options: RunServiceOptions<S>) {
  let config: z.output<S>;
  try {
    config = loadConfig({ section: options.name, schema: options.schema });
  } catch (error) {
    exitOnConfigError(options.name, error);
  }
  const settings = config as z.output<S> & ServerSettings;
  const logger = createLogger({ level: settings.logLevel, fields: { service: options.name } });
  process.on("uncaughtException", (error) => {
    logger.error("uncaught exception", { error });
    process.exit(1);
  });
  const parts = await options
    .build(config, logger)
    .catch((error: unknown) => exitOnConfigError(options.name, error));
  const server = createServiceServer({
    services: parts.services,
    settings,
    logger,
    interceptors: parts.interceptors,
    wrapHandler: parts.wrapHandler,
    tls: parts.tls,
  });
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("stopping", { reason });
    await server.shutdown();
    await parts.close?.();
    // The last spans (the drain's included) leave before the process does.
    await shutdownTelemetry();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  // Started by the launcher: when it goes away, so does this process.
  if (process.connected) process.once("disconnect", () => void stop("launcher exited"));
  await server.start();
}

/** A ConfigError stops the process with its message and exit code 2; anything else is rethrown. */
function exitOnConfigError(name: string, error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
