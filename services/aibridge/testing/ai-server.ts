import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { z } from "zod";
import { AiService } from "../../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../../gen/lakehouse/storage/v1/storage_pb.js";
import { createInternalTransport } from "../../kit/internal-transport.js";
import { createLogger } from "../../kit/logger.js";
import { createServiceServer, registration, serverSettings } from "../../kit/server.js";
import { createAiService } from "../ai-service.js";
import { aibridgeConfigSchema } from "../config.js";
import { createIndexParquetWriter } from "../index-parquet.js";
import { createProviderRegistry } from "../provider-registry.js";

/** The AI service behind a real server on a free port, and a gRPC client of it. */
export interface AiServer {
  readonly ai: Client<typeof AiService>;
  close(): Promise<void>;
}

/**
 * Serves AiService with the `aibridge` settings given (as in the config
 * file), for provider tests that need no datasets: the data-service clients
 * point at a closed port.
 */
export async function startAiServer(
  settings: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
): Promise<AiServer> {
  const workDirectory = await mkdtemp(join(tmpdir(), "aibridge-server-"));
  const config = aibridgeConfigSchema.parse({ ...settings, workDirectory });
  const nowhere = createInternalTransport("http://127.0.0.1:9", { maxMessageBytes: 1 << 20 });
  const writer = createIndexParquetWriter(workDirectory);
  const service = createAiService({
    registry: createProviderRegistry(config, env),
    limits: config.limits,
    clients: {
      catalog: createClient(CatalogService, nowhere),
      storage: createClient(StorageService, nowhere),
      query: createClient(QueryService, nowhere),
    },
    writer,
    workDirectory,
  });
  const server = createServiceServer({
    services: [registration(AiService, service)],
    settings: z.object(serverSettings("127.0.0.1:0")).parse({}),
    logger: createLogger({ level: "error" }),
  });
  const url = await server.start();
  const ai = createClient(
    AiService,
    createInternalTransport(url.origin, { maxMessageBytes: 16 << 20 }),
  );
  return {
    ai,
    async close() {
      await server.shutdown();
      writer.close();
      await rm(workDirectory, { recursive: true, force: true });
    },
  };
}
