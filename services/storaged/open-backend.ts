import type { StoragedConfig } from "./config.js";
import { createLocalBackend } from "./local-backend.js";
import type { ObjectBackend } from "./object-backend.js";
import { createS3Backend } from "./s3-backend.js";
import { createTracedBackend } from "./traced-backend.js";

/**
 * Opens the backend the config names. Empty strings in the S3 section mean
 * "not set", so the SDK's defaults (AWS endpoint, credential chain) apply.
 * Every call of the backend is traced.
 */
export async function openBackend(config: StoragedConfig): Promise<ObjectBackend> {
  return createTracedBackend(await openUntracedBackend(config), config.backend);
}

async function openUntracedBackend(config: StoragedConfig): Promise<ObjectBackend> {
  if (config.backend === "local") return createLocalBackend({ root: config.local.root });
  const s3 = config.s3;
  return createS3Backend({
    bucket: s3.bucket,
    prefix: s3.prefix,
    endpoint: s3.endpoint || undefined,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    accessKeyId: s3.accessKeyId || undefined,
    secretAccessKey: s3.secretAccessKey || undefined,
    partSizeBytes: s3.partSizeBytes,
    spoolDirectory: s3.spoolDirectory,
  });
}
