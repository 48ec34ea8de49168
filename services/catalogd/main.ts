import { mkdir, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { createClient } from "@connectrpc/connect";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { requireIdentity } from "../kit/identity/caller-identity.js";
import { openInternalAuth } from "../kit/identity/internal-auth.js";
import { createInternalTransport } from "../kit/internal-transport.js";
import { runService } from "../kit/run-service.js";
import { registration } from "../kit/server.js";
import { openCatalogDuckDB } from "./catalog-duckdb.js";
import { createCatalogService } from "./catalog-service.js";
import { catalogdConfigSchema } from "./config.js";

await runService({
  name: "catalogd",
  schema: catalogdConfigSchema,
  async build(config) {
    const internalAuth = await openInternalAuth("catalogd", config.internalAuth);
    // Nothing in the work directory outlives a process: leftovers of a crash go.
    const workDirectory = resolve(config.workDirectory);
    await rm(workDirectory, { recursive: true, force: true });
    await mkdir(workDirectory, { recursive: true });
    const duckdb = await openCatalogDuckDB({
      workDirectory,
      threads: config.threads,
      memoryLimit: config.memoryLimit,
    });
    const storage = createClient(
      StorageService,
      createInternalTransport(config.storageUrl, {
        maxMessageBytes: config.maxMessageBytes,
        interceptors: [internalAuth.clientInterceptor],
      }),
    );
    return {
      services: [
        registration(
          CatalogService,
          createCatalogService({
            storage,
            workDirectory,
            duckdb,
            authorOf: (context) => requireIdentity(context.values).subject,
            callerOf: (context) => requireIdentity(context.values),
            orphanGraceMs: config.orphanGraceMs,
          }),
        ),
      ],
      interceptors: [internalAuth.serverInterceptor],
      close: () => duckdb.close(),
    };
  },
});
