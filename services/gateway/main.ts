import { runService } from "../kit/run-service.js";
import { gatewayConfigSchema } from "./config.js";
import { createGatewayParts } from "./gateway.js";

await runService({
  name: "gateway",
  schema: gatewayConfigSchema,
  async build(config, logger) {
    const parts = await createGatewayParts(config);
    logger.info("forwarding", {
      storage: config.storageUrl,
      catalog: config.catalogUrl,
      query: config.queryUrl,
      ai: config.aiUrl,
      tls: parts.tls !== undefined,
      keys: config.auth.jwksUrl !== "" ? config.auth.jwksUrl : config.auth.publicKeyFile,
      algorithms: config.auth.algorithms,
    });
    return parts;
  },
});
