import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Client,
  createClient,
  createRouterTransport,
  type ServiceImpl,
} from "@connectrpc/connect";
import { AiService } from "../../../gen/lakehouse/ai/v1/ai_pb.js";
import { type QueryFixture, startQueryFixture } from "../../queryd/testing/query-fixture.js";
import { createAiService } from "../ai-service.js";
import { aibridgeConfigSchema } from "../config.js";
import { createIndexParquetWriter } from "../index-parquet.js";
import { createProviderRegistry } from "../provider-registry.js";

/** aibridge in memory over the real storage, catalog and query services, for tests. */
export interface AiFixture {
  readonly ai: Client<typeof AiService>;
  /** The implementation, to serve it over a real server too. */
  readonly service: ServiceImpl<typeof AiService>;
  readonly data: QueryFixture;
  close(): Promise<void>;
}

/** Starts the data services (in memory) and the AI service with `aibridge` settings as in the config file. */
export async function startAiFixture(settings: Record<string, unknown> = {}): Promise<AiFixture> {
  const data = await startQueryFixture();
  const workDirectory = await mkdtemp(join(tmpdir(), "aibridge-test-"));
  const config = aibridgeConfigSchema.parse({ ...settings, workDirectory });
  const writer = createIndexParquetWriter(workDirectory);
  const service = createAiService({
    registry: createProviderRegistry(config, {}),
    limits: config.limits,
    clients: {
      catalog: data.catalogFixture.catalog,
      storage: data.catalogFixture.storage,
      query: data.query,
    },
    writer,
    workDirectory,
  });
  const ai = createClient(
    AiService,
    createRouterTransport((router) => router.service(AiService, service)),
  );
  return {
    ai,
    service,
    data,
    async close() {
      writer.close();
      await data.close();
      await rm(workDirectory, { recursive: true, force: true });
    },
  };
}
