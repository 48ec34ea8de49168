import { createLogger } from "../../kit/logger.js";
import { createServiceServer, type ServiceServer } from "../../kit/server.js";
import { gatewayConfigSchema } from "../config.js";
import { createGatewayParts, type GatewayDependencies } from "../gateway.js";

/** A gateway running in-process, built exactly as main.ts builds it. */
export interface TestGateway {
  readonly url: URL;
  readonly server: ServiceServer;
}

/**
 * Starts a gateway on a free loopback port with `settings` over test
 * defaults (error-level logs, short drain); `write` receives its log lines.
 */
export async function startTestGateway(
  settings: Record<string, unknown>,
  dependencies: GatewayDependencies,
  write: (line: string) => void = () => {},
): Promise<TestGateway> {
  const config = gatewayConfigSchema.parse({
    listen: "127.0.0.1:0",
    logLevel: "error",
    drainTimeoutMs: 500,
    ...settings,
  });
  const parts = await createGatewayParts(config, dependencies);
  const server = createServiceServer({
    ...parts,
    settings: config,
    logger: createLogger({ level: config.logLevel, write }),
  });
  return { url: await server.start(), server };
}
