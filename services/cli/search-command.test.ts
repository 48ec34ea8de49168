import type { HandlerContext } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { type AiFixture, startAiFixture } from "../aibridge/testing/ai-fixture.js";
import { createCatalogService } from "../catalogd/catalog-service.js";
import { createTestAuth, type TestAuth } from "../gateway/testing/test-auth.js";
import { startTestGateway } from "../gateway/testing/test-gateway.js";
import { requireIdentity } from "../kit/identity/caller-identity.js";
import { createLogger } from "../kit/logger.js";
import {
  createServiceServer,
  registration,
  type ServiceServer,
  serverSettings,
} from "../kit/server.js";
import { runCli } from "./cli-program.js";
import { testContext } from "./testing/test-context.js";

/** A dataset name longer than the part of it an index name keeps. */
const longName = "support_tickets_archived_from_the_legacy_helpdesk_system_of_2019_q4";

let auth: TestAuth;
let fixture: AiFixture;
const servers: ServiceServer[] = [];
let gatewayUrl = "";
let token = "";

const rows = (texts: string[]) =>
  `SELECT * FROM (VALUES ${texts.map((text, i) => `(${i + 1}, '${text}')`).join(", ")}) AS t(id, note)`;

beforeAll(async () => {
  auth = await createTestAuth();
  fixture = await startAiFixture();
  await fixture.data.ingest("notes", rows(["buy milk and eggs", "call the plumber"]));
  await fixture.data.ingest("notes_plain", rows(["nothing indexed here"]));
  await fixture.data.ingest("secret_hr", rows(["alice salary review", "bob warning letter"]));
  await fixture.data.ingest(longName, rows(["printer on floor three is jammed"]));
  for (const dataset of ["notes", "secret_hr", longName]) {
    await fixture.ai.buildSearchIndex({ dataset, column: "note" });
  }
  // catalogd and aibridge as their mains wire them: the caller from the internal token, grants applied.
  const { catalogFixture } = fixture.data;
  const catalog = createCatalogService({
    storage: catalogFixture.storage,
    workDirectory: catalogFixture.workDirectory,
    duckdb: catalogFixture.duckdb,
    authorOf: (context: HandlerContext) => requireIdentity(context.values).subject,
    callerOf: (context: HandlerContext) => requireIdentity(context.values),
  });
  const upstream = createServiceServer({
    services: [registration(CatalogService, catalog), registration(AiService, fixture.service)],
    settings: z.object(serverSettings("127.0.0.1:0")).parse({}),
    logger: createLogger({ level: "error" }),
    interceptors: [auth.upstreamInternalAuth.serverInterceptor],
  });
  servers.push(upstream);
  const origin = (await upstream.start()).origin;
  const gateway = await startTestGateway(
    { catalogUrl: origin, aiUrl: origin, auth: { algorithms: ["EdDSA"] } },
    { keys: auth.keys, internalAuth: auth.gatewayInternalAuth },
  );
  servers.push(gateway.server);
  gatewayUrl = gateway.url.origin;
  token = await auth.token({ datasets: ["notes*", `${longName.slice(0, 20)}*`] });
});

afterAll(async () => {
  for (const server of servers) await server.shutdown();
  await fixture?.close();
});

const search = async (...args: string[]) => {
  const context = testContext({ LAKEHOUSE_URL: gatewayUrl, LAKEHOUSE_TOKEN: token });
  const code = await runCli(["search", ...args, "--format", "json"], context);
  return { code, out: context.stdout.text(), err: context.stderr.text() };
};

describe("lakehouse search without --column", () => {
  it("shows the refusal of a dataset the token holds no grant for, not a missing index", async () => {
    const { code, out, err } = await search("secret_hr", "alice");
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toBe(
      "error: permission_denied: tester holds no grant for dataset secret_hr (reason: DATASET_NOT_GRANTED)\n",
    );
  });

  it("tells a dataset that does not exist from one with no index", async () => {
    const missing = await search("notes_missing", "milk");
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^error: not_found: .*notes_missing.*\(reason: [A-Z_]+\)\n$/);
    expect(missing.err).not.toContain("search index");
    const plain = await search("notes_plain", "milk");
    expect(plain.code).toBe(1);
    expect(plain.err).toBe(
      "error: not_found: dataset notes_plain has no search index: build one with lakehouse index notes_plain --column <column>\n",
    );
  });

  it("finds the indexed column of a dataset whose name is longer than an index name keeps", async () => {
    const { code, out, err } = await search(longName, "jammed printer");
    expect(code, err).toBe(0);
    expect(JSON.parse(out.trim())).toMatchObject({
      row: { id: 1, note: "printer on floor three is jammed" },
    });
  });
});
