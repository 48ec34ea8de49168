import { z } from "zod";
import { internalAuthSettings } from "../kit/identity/internal-auth.js";
import { serverSettings } from "../kit/server.js";

/**
 * The `storaged` section of the config file. Every key can also be set by
 * `LAKEHOUSE_STORAGED_<KEY>` (nested keys joined by `_`, e.g.
 * `LAKEHOUSE_STORAGED_S3_BUCKET`).
 */
export const storagedConfigSchema = z
  .object({
    ...serverSettings("127.0.0.1:7101"),
    ...internalAuthSettings(),
    /** Where objects live: a local directory or an S3-compatible bucket. */
    backend: z.enum(["local", "s3"]).default("local"),
    local: z
      .object({
        /** The directory that holds every object; created when missing. */
        root: z.string().min(1).default(".data/storage"),
      })
      .prefault({}),
    s3: z
      .object({
        bucket: z.string().default(""),
        /** A key prefix inside the bucket, so several installations can share one. */
        prefix: z.string().default(""),
        /** Custom endpoint for S3-compatible stores; empty for AWS. */
        endpoint: z.string().default(""),
        region: z.string().default("us-east-1"),
        /** Path-style addressing, needed by most S3-compatible stores. */
        forcePathStyle: z.boolean().default(false),
        /** Static credentials; empty uses the SDK's default chain (env, profile, role). */
        accessKeyId: z.string().default(""),
        secretAccessKey: z.string().default(""),
        /** Multipart part size; bodies larger than one part are uploaded in parts. */
        partSizeBytes: z
          .number()
          .int()
          .min(5 * 1024 * 1024)
          .default(16 * 1024 * 1024),
        /** Uploads are spooled here to check size and SHA-256 before anything reaches S3. */
        spoolDirectory: z.string().default(".data/spool"),
      })
      .prefault({}),
    /** The largest object accepted, in bytes. */
    maxUploadBytes: z
      .number()
      .int()
      .min(1)
      .default(64 * 1024 ** 3),
  })
  .superRefine((config, context) => {
    if (config.backend === "s3" && config.s3.bucket === "") {
      context.addIssue({
        code: "custom",
        path: ["s3", "bucket"],
        message: "required when backend is s3",
      });
    }
  });

/** Validated `storaged` settings. */
export type StoragedConfig = z.output<typeof storagedConfigSchema>;
