import { z } from "zod";
import { internalAuthSettings } from "../kit/identity/internal-auth.js";
import { serverSettings } from "../kit/server.js";
import { isOriginPattern } from "./allowed-origins.js";
import { authSettings } from "./auth/auth-settings.js";

/** An internal service's base URL: gRPC over HTTP/2, cleartext (`http`) or TLS (`https`). */
const upstreamUrl = (defaultUrl: string) =>
  z.url({ protocol: /^https?$/, error: "expected http(s)://HOST:PORT" }).default(defaultUrl);

/**
 * The `gateway` section of the config file. Every key can also be set by
 * `LAKEHOUSE_GATEWAY_<KEY>` (nested keys joined by `_`, e.g.
 * `LAKEHOUSE_GATEWAY_STORAGE_URL`, `LAKEHOUSE_GATEWAY_TLS_CERT_FILE`,
 * `LAKEHOUSE_GATEWAY_CORS_ALLOWED_ORIGINS` as a comma-separated list,
 * `LAKEHOUSE_GATEWAY_AUTH_JWKS_URL`).
 */
export const gatewayConfigSchema = z
  .object({
    ...serverSettings("127.0.0.1:8080"),
    storageUrl: upstreamUrl("http://127.0.0.1:7101"),
    catalogUrl: upstreamUrl("http://127.0.0.1:7102"),
    queryUrl: upstreamUrl("http://127.0.0.1:7103"),
    aiUrl: upstreamUrl("http://127.0.0.1:7104"),
    tls: z
      .object({
        /** PEM certificate chain; empty (with `keyFile` empty) serves plaintext. */
        certFile: z.string().default(""),
        /** PEM private key of `certFile`. */
        keyFile: z.string().default(""),
      })
      .prefault({}),
    cors: z
      .object({
        /**
         * Browser origins allowed to call the gateway from another origin:
         * exact origins (`https://console.example.com`), `*` for any, or a
         * host with any port (`http://localhost:*`). The default admits pages
         * served from this machine only, so a website a user happens to visit
         * cannot read the lakehouse through their browser.
         */
        allowedOrigins: z
          .array(
            z
              .string()
              .refine(isOriginPattern, "expected *, SCHEME://HOST, SCHEME://HOST:PORT or :*"),
          )
          .default(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]),
      })
      .prefault({}),
    ...authSettings(),
    deadline: z
      .object({
        /** The deadline of a call that arrives without one (ms). */
        defaultTimeoutMs: z.number().int().min(100).default(600_000),
        /** The longest deadline a call keeps; longer ones are cut to it (ms). */
        maxTimeoutMs: z.number().int().min(100).default(3_600_000),
      })
      .prefault({}),
    ...internalAuthSettings(),
  })
  .superRefine((config, context) => {
    if (config.deadline.defaultTimeoutMs > config.deadline.maxTimeoutMs) {
      context.addIssue({
        code: "custom",
        path: ["deadline", "defaultTimeoutMs"],
        message: "must not exceed deadline.maxTimeoutMs",
      });
    }
    const { certFile, keyFile } = config.tls;
    if ((certFile === "") !== (keyFile === "")) {
      context.addIssue({
        code: "custom",
        path: ["tls", certFile === "" ? "certFile" : "keyFile"],
        message: "tls.certFile and tls.keyFile must be set together",
      });
    }
  });

/** Validated `gateway` settings. */
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
