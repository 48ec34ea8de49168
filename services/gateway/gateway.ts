import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { ConfigError } from "../kit/config.js";
import { createInternalTransport } from "../kit/internal-transport.js";
import type { ServiceParts } from "../kit/run-service.js";
import type { GatewayConfig } from "./config.js";
import { createCorsLayer } from "./cors.js";
import { createForwardingService } from "./forwarding-service.js";
import { createGatewayInterceptors } from "./gateway-interceptors.js";

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

/**
 * Everything the gateway serves, built from its config: a forwarder per
 * public service over one internal HTTP/2 transport each (message limits
 * equal to the gateway's own), the gateway's interceptors, the CORS layer and
 * TLS. `main.ts` hands this to `runService`; tests hand it to a server on port 0.
 */
export function createGatewayParts(config: GatewayConfig): ServiceParts {
  return {
    services: publicServices.map(({ service, urlKey }) =>
      createForwardingService(
        service,
        createInternalTransport(config[urlKey], { maxMessageBytes: config.maxMessageBytes }),
      ),
    ),
    interceptors: createGatewayInterceptors(),
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
