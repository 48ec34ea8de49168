import { describe, expect, it } from "vitest";
import { ConfigError, configEnvironmentNames, loadConfig } from "../kit/config.js";
import { gatewayConfigSchema } from "./config.js";

const load = (env: NodeJS.ProcessEnv) =>
  loadConfig({ section: "gateway", schema: gatewayConfigSchema, env });

describe("gateway config", () => {
  it("defaults to loopback: port 8080, the services' default ports, plaintext, local origins", () => {
    const config = load({});
    expect(config.listen).toBe("127.0.0.1:8080");
    expect([config.storageUrl, config.catalogUrl, config.queryUrl, config.aiUrl]).toEqual([
      "http://127.0.0.1:7101",
      "http://127.0.0.1:7102",
      "http://127.0.0.1:7103",
      "http://127.0.0.1:7104",
    ]);
    expect(config.tls).toEqual({ certFile: "", keyFile: "" });
    expect(config.cors.allowedOrigins).toEqual([
      "http://localhost:*",
      "http://127.0.0.1:*",
      "http://[::1]:*",
    ]);
  });

  it("takes upstream addresses and allowed origins from the environment", () => {
    const config = load({
      LAKEHOUSE_GATEWAY_STORAGE_URL: "http://storaged:7101",
      LAKEHOUSE_GATEWAY_CORS_ALLOWED_ORIGINS: "https://console.example.com, http://localhost:*",
    });
    expect(config.storageUrl).toBe("http://storaged:7101");
    expect(config.cors.allowedOrigins).toEqual([
      "https://console.example.com",
      "http://localhost:*",
    ]);
  });

  it("lists an environment variable for every key", () => {
    const names = new Map(configEnvironmentNames("gateway", gatewayConfigSchema));
    expect(names.get("gateway.storageUrl")).toBe("LAKEHOUSE_GATEWAY_STORAGE_URL");
    expect(names.get("gateway.tls.certFile")).toBe("LAKEHOUSE_GATEWAY_TLS_CERT_FILE");
    expect(names.get("gateway.cors.allowedOrigins")).toBe("LAKEHOUSE_GATEWAY_CORS_ALLOWED_ORIGINS");
  });

  it("refuses a certificate without its key, and a key without its certificate", () => {
    expect(() => load({ LAKEHOUSE_GATEWAY_TLS_CERT_FILE: "/etc/cert.pem" })).toThrow(
      /gateway\.tls\.keyFile \(env LAKEHOUSE_GATEWAY_TLS_KEY_FILE\): .*set together/,
    );
    expect(() => load({ LAKEHOUSE_GATEWAY_TLS_KEY_FILE: "/etc/key.pem" })).toThrow(
      /gateway\.tls\.certFile .*set together/,
    );
  });

  it("refuses upstream URLs that are not http(s) and origins that cannot match", () => {
    expect(() => load({ LAKEHOUSE_GATEWAY_QUERY_URL: "127.0.0.1:7103" })).toThrow(ConfigError);
    expect(() => load({ LAKEHOUSE_GATEWAY_AI_URL: "ftp://127.0.0.1:7104" })).toThrow(
      /gateway\.aiUrl/,
    );
    expect(() =>
      load({ LAKEHOUSE_GATEWAY_CORS_ALLOWED_ORIGINS: "https://example.com/app" }),
    ).toThrow(/gateway\.cors\.allowedOrigins\.0/);
  });
});
