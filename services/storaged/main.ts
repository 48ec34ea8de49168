import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { openInternalAuth } from "../kit/identity/internal-auth.js";
import { runService } from "../kit/run-service.js";
import { registration } from "../kit/server.js";
import { storagedConfigSchema } from "./config.js";
import { openBackend } from "./open-backend.js";
import { createStorageService } from "./storage-service.js";

await runService({
  name: "storaged",
  schema: storagedConfigSchema,
  async build(config, logger) {
    const internalAuth = await openInternalAuth("storaged", config.internalAuth);
    const backend = await openBackend(config);
    logger.info("backend ready", { backend: config.backend });
    return {
      services: [
        registration(
          StorageService,
          createStorageService(backend, { maxUploadBytes: config.maxUploadBytes }),
        ),
      ],
      interceptors: [internalAuth.serverInterceptor],
      close: () => backend.close(),
    };
  },
});
