import { runService } from "../kit/run-service.js";
import { gatewayConfigSchema } from "./config.js";
import { createGatewayParts } from "./gateway.js";

await runService({
  name: "gateway",
  schema: gatewayConfigSchema,
  async build(config, logger) {
    const parts = createGatewayParts(config);
    logger.info("forwarding", {
      storage: config.storageUrl,
      catalog: config.catalogUrl,
      query: config.queryUrl,
      ai: config.aiUrl,
      tls: parts.tls !== undefined,
    });
    return parts;
  },
});
