import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { runService } from "../kit/run-service.js";
import { registration } from "../kit/server.js";
import { querydConfigSchema } from "./config.js";
import { createDuckDBEngine } from "./duckdb-engine.js";
import { createFileCache } from "./file-cache.js";
import { createQueryService } from "./query-service.js";

await runService({
  name: "queryd",
  schema: querydConfigSchema,
  async build(config, logger) {
    // Data files and query bytes are incompressible; gzip would only slow the hops.
    const transport = (baseUrl: string) =>
      createGrpcTransport({
        baseUrl,
        acceptCompression: [],
        readMaxBytes: config.maxMessageBytes,
        writeMaxBytes: config.maxMessageBytes,
      });
    const catalog = createClient(CatalogService, transport(config.catalogUrl));
    const storage = createClient(StorageService, transport(config.storageUrl));
    const cache = await createFileCache({
      directory: config.cacheDirectory,
      maxBytes: config.cacheMaxBytes,
      storage,
    });
    const engine = await createDuckDBEngine({
      cacheDirectory: config.cacheDirectory,
      tempDirectory: config.tempDirectory,
      memoryLimit: config.memoryLimit,
      threads: config.threads,
      maxTempDirectorySize: config.maxTempDirectorySize,
      poolSize: config.poolSize,
      maxQueued: config.maxQueuedQueries,
    });
    logger.info("duckdb ready", { poolSize: config.poolSize, memoryLimit: config.memoryLimit });
    return {
      services: [
        registration(
          QueryService,
          createQueryService({
            catalog,
            storage,
            engine,
            cache,
            logger,
            limits: {
              maxResultRows: config.maxResultRows,
              maxResultBytes: config.maxResultBytes,
              batchRows: config.batchRows,
            },
          }),
        ),
      ],
      close: () => engine.close(),
    };
  },
});
