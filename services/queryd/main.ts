import { createClient } from "@connectrpc/connect";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { requireIdentity } from "../kit/identity/caller-identity.js";
import { openInternalAuth } from "../kit/identity/internal-auth.js";
import { createInternalTransport } from "../kit/internal-transport.js";
import { runService } from "../kit/run-service.js";
import { registration } from "../kit/server.js";
import { createColumnarCopies } from "./columnar-copies.js";
import { querydConfigSchema } from "./config.js";
import { createDuckDBEngine } from "./duckdb-engine.js";
import { createFileCache } from "./file-cache.js";
import { createQueryService } from "./query-service.js";

await runService({
  name: "queryd",
  schema: querydConfigSchema,
  async build(config, logger) {
    // The kit's transport: uncompressed (data files barely compress), traced.
    const internalAuth = await openInternalAuth("queryd", config.internalAuth);
    const transport = (baseUrl: string) =>
      createInternalTransport(baseUrl, {
        maxMessageBytes: config.maxMessageBytes,
        interceptors: [internalAuth.clientInterceptor],
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
    const copies = config.columnarCopies
      ? createColumnarCopies({ engine, cache, cacheMaxBytes: config.cacheMaxBytes, logger })
      : undefined;
    logger.info("duckdb ready", {
      poolSize: config.poolSize,
      memoryLimit: config.memoryLimit,
      columnarCopies: config.columnarCopies,
    });
    return {
      services: [
        registration(
          QueryService,
          createQueryService({
            catalog,
            storage,
            engine,
            cache,
            ...(copies === undefined ? {} : { copies }),
            logger,
            limits: {
              maxResultRows: config.maxResultRows,
              maxResultBytes: config.maxResultBytes,
              batchRows: config.batchRows,
              stalledReaderTimeoutMs: config.stalledReaderTimeoutMs,
            },
            callerOf: (context) => requireIdentity(context.values),
          }),
        ),
      ],
      interceptors: [internalAuth.serverInterceptor],
      close: async () => {
        copies?.stop();
        await engine.close();
      },
    };
  },
});
