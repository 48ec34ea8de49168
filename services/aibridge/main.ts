import { createClient } from "@connectrpc/connect";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { openInternalAuth } from "../kit/identity/internal-auth.js";
import { createInternalTransport } from "../kit/internal-transport.js";
import { runService } from "../kit/run-service.js";
import { registration } from "../kit/server.js";
import { createAiService } from "./ai-service.js";
import { aibridgeConfigSchema } from "./config.js";
import { createIndexParquetWriter } from "./index-parquet.js";
import { createProviderRegistry } from "./provider-registry.js";

await runService({
  name: "aibridge",
  schema: aibridgeConfigSchema,
  async build(config, logger) {
    const registry = createProviderRegistry(config);
    const internalAuth = await openInternalAuth("aibridge", config.internalAuth);
    const transport = (baseUrl: string) =>
      createInternalTransport(baseUrl, {
        maxMessageBytes: config.maxMessageBytes,
        interceptors: [internalAuth.clientInterceptor],
      });
    const clients = {
      catalog: createClient(CatalogService, transport(config.catalogUrl)),
      storage: createClient(StorageService, transport(config.storageUrl)),
      query: createClient(QueryService, transport(config.queryUrl)),
    };
    const writer = createIndexParquetWriter(config.workDirectory);
    logger.info("providers ready", {
      providers: registry.all().map((p) => `${p.name} (${p.kind})`),
      defaultProvider: config.defaultProvider,
    });
    return {
      services: [
        registration(
          AiService,
          createAiService({
            registry,
            limits: config.limits,
            clients,
            writer,
            workDirectory: config.workDirectory,
          }),
        ),
      ],
      interceptors: [internalAuth.serverInterceptor],
      close: () => writer.close(),
    };
  },
});
