import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { ConfigError } from "../kit/config.js";
import { type InternalAuth, openInternalAuth } from "../kit/identity/internal-auth.js";
import { createInternalTransport } from "../kit/internal-transport.js";
import type { ServiceParts } from "../kit/run-service.js";
import { createKeySource, type KeySource } from "./auth/key-source.js";
import { createTokenVerifier } from "./auth/token-verifier.js";
import type { GatewayConfig } from "./config.js";
import { createCorsLayer } from "./cors.js";
import { createDeadlinePolicy } from "./deadline-policy.js";
import { createForwardingService } from "./forwarding-service.js";
import { createGatewayInterceptors } from "./gateway-interceptors.js";
import type { Upstream } from "./upstream-health.js";

/** The public services and the config key holding each one's internal address. */
const publicServices: readonly {
  service: DescService;
  urlKey: "storageUrl" | "catalogUrl" | "queryUrl" | "aiUrl";
}[] = [
  { service: StorageService, urlKey: "storageUrl" },
  { service: CatalogService, urlKey: "catalogUrl" },
  { service: QueryService, urlKey: "queryUrl" },
  { service: AiService, urlKey: "aiUrl" },
];

/** What {@link createGatewayParts} would otherwise build from config; tests pass their own. */
export interface GatewayDependencies {
  /** Token keys; default from `gateway.auth`. */
  readonly keys?: KeySource;
  /** The internal credential; default from `gateway.internalAuth`. */
  readonly internalAuth?: InternalAuth;
}

/**
 * Everything the gateway serves, built from its config: a forwarder per
 * public service over one internal HTTP/2 transport each (message limits
 * equal to the gateway's own, deadlines bounded by `gateway.deadline`, the
 * caller carried on in an internal token), the gateway's interceptors
 * (request id, authentication, scopes, and health checks of a public
 * service answered by that service over the same transport), the CORS
 * layer and TLS. `main.ts` hands this to `runService`; tests hand it to a
 * server on port 0.
 *
 * @throws ConfigError when no token key source is configured or a key,
 * secret or TLS file cannot be read.
 */
export async function createGatewayParts(
  config: GatewayConfig,
  dependencies: GatewayDependencies = {},
): Promise<ServiceParts> {
  const keys = dependencies.keys ?? createKeySource(config.auth);
  const internalAuth =
    dependencies.internalAuth ?? (await openInternalAuth("gateway", config.internalAuth));
  const deadline = createDeadlinePolicy(config.deadline);
  const upstreams: Upstream[] = publicServices.map(({ service, urlKey }) => ({
    service,
    transport: createInternalTransport(config[urlKey], {
      maxMessageBytes: config.maxMessageBytes,
      interceptors: [internalAuth.clientInterceptor],
    }),
  }));
  return {
    services: upstreams.map(({ service, transport }) =>
      createForwardingService(service, transport, deadline),
    ),
    interceptors: createGatewayInterceptors({
      auth: {
        verifier: createTokenVerifier(config.auth, keys),
        maxTokenBytes: config.auth.maxTokenBytes,
      },
      upstreams,
    }),
    wrapHandler: createCorsLayer({ allowedOrigins: config.cors.allowedOrigins }),
    tls: readTls(config.tls),
  };
}

/** Reads the PEM files named by `gateway.tls`; none named means plaintext. */
function readTls(tls: GatewayConfig["tls"]): { cert: string; key: string } | undefined {
  if (tls.certFile === "" && tls.keyFile === "") return undefined;
  const read = (key: string, file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError(`gateway.tls.${key}: cannot read ${file}: ${(error as Error).message}`);
    }
  };
  return { cert: read("certFile", tls.certFile), key: read("keyFile", tls.keyFile) };
}
