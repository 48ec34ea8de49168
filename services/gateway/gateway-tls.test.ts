import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { ConfigError } from "../kit/config.js";
import { createLogger } from "../kit/logger.js";
import { createServiceServer, type ServiceServer } from "../kit/server.js";
import { gatewayConfigSchema } from "./config.js";
import { createGatewayParts } from "./gateway.js";
import { type FixtureUpstreams, startFixtureUpstreams } from "./testing/fixture-upstreams.js";
import { createTestAuth } from "./testing/test-auth.js";

const run = promisify(execFile);
let upstreams: FixtureUpstreams | undefined;
let server: ServiceServer | undefined;

afterAll(async () => {
  await server?.shutdown();
  await upstreams?.shutdown();
});

/** A self-signed certificate for 127.0.0.1, made with the system's openssl. */
async function selfSignedCertificate(): Promise<{ certFile: string; keyFile: string }> {
  const directory = mkdtempSync(join(tmpdir(), "gateway-tls-"));
  const certFile = join(directory, "cert.pem");
  const keyFile = join(directory, "key.pem");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ]);
  return { certFile, keyFile };
}

describe("gateway TLS", () => {
  it("serves gRPC over TLS when gateway.tls names a certificate and key", async () => {
    const auth = await createTestAuth();
    upstreams = await startFixtureUpstreams([auth.upstreamInternalAuth.serverInterceptor]);
    const tls = await selfSignedCertificate();
    const config = gatewayConfigSchema.parse({
      listen: "127.0.0.1:0",
      logLevel: "error",
      drainTimeoutMs: 500,
      tls,
      ...upstreams.urls,
    });
    const parts = await createGatewayParts(config, {
      keys: auth.keys,
      internalAuth: auth.gatewayInternalAuth,
    });
    server = createServiceServer({
      ...parts,
      settings: config,
      logger: createLogger({ level: "error", write: () => {} }),
    });
    const url = await server.start();
    expect(url.protocol).toBe("https:");
    const catalog = createClient(
      CatalogService,
      createGrpcTransport({
        baseUrl: url.origin,
        nodeOptions: { ca: readFileSync(tls.certFile) },
        interceptors: [auth.bearer(await auth.token())],
      }),
    );
    expect((await catalog.getDataset({ name: "t" })).dataset?.name).toBe("catalogd:t");
  });

  it("names the key and the file when a TLS file cannot be read", async () => {
    const auth = await createTestAuth();
    const config = gatewayConfigSchema.parse({
      tls: { certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" },
    });
    const parts = createGatewayParts(config, {
      keys: auth.keys,
      internalAuth: auth.gatewayInternalAuth,
    });
    await expect(parts).rejects.toThrow(ConfigError);
    await expect(parts).rejects.toThrow(/gateway\.tls\.certFile: cannot read/);
  });
});
