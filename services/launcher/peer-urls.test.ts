import { describe, expect, it } from "vitest";
import { peerUrlEnvironment } from "./peer-urls.js";

describe("peerUrlEnvironment", () => {
  it("points every peer address of every service at the listen address of that peer", () => {
    const environment = peerUrlEnvironment([
      { name: "storaged", listen: "127.0.0.1:29301" },
      { name: "catalogd", listen: "0.0.0.0:29302" },
      { name: "queryd", listen: "127.0.0.1:29303" },
      { name: "aibridge", listen: "127.0.0.1:29304" },
      { name: "gateway", listen: "127.0.0.1:29380" },
    ]);
    expect(environment).toEqual({
      LAKEHOUSE_CATALOGD_STORAGE_URL: "http://127.0.0.1:29301",
      LAKEHOUSE_QUERYD_CATALOG_URL: "http://127.0.0.1:29302",
      LAKEHOUSE_QUERYD_STORAGE_URL: "http://127.0.0.1:29301",
      LAKEHOUSE_AIBRIDGE_CATALOG_URL: "http://127.0.0.1:29302",
      LAKEHOUSE_AIBRIDGE_STORAGE_URL: "http://127.0.0.1:29301",
      LAKEHOUSE_AIBRIDGE_QUERY_URL: "http://127.0.0.1:29303",
      LAKEHOUSE_GATEWAY_STORAGE_URL: "http://127.0.0.1:29301",
      LAKEHOUSE_GATEWAY_CATALOG_URL: "http://127.0.0.1:29302",
      LAKEHOUSE_GATEWAY_QUERY_URL: "http://127.0.0.1:29303",
      LAKEHOUSE_GATEWAY_AI_URL: "http://127.0.0.1:29304",
    });
  });
});
