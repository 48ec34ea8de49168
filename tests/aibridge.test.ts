import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashedEmbedding } from "../services/aibridge/hashed-embedding.js";
import { runCli } from "../services/cli/cli-program.js";
import { testContext } from "../services/cli/testing/test-context.js";
import { putObject } from "../services/storaged/client.js";
import { gatewayClients } from "./support/gateway-clients.js";
import { type RunningSystem, startSystem } from "./support/system.js";

const ARTICLES = [
  {
    id: 1,
    title: "Change your password",
    body: "To change your password open Settings, choose Security and pick a new password.",
  },
  {
    id: 2,
    title: "Two-factor login",
    body: "Turn on two-factor authentication so a stolen password alone cannot open your account.",
  },
  { id: 3, title: "Invoices", body: "Download monthly invoices as PDF from the Billing page." },
  {
    id: 4,
    title: "Refunds",
    body: "Refunds are paid back to the original card within ten business days.",
  },
  { id: 5, title: "Export data", body: "Export every table to CSV or Parquet from the Data menu." },
  {
    id: 6,
    title: "Delete account",
    body: "Deleting your account removes all data after thirty days.",
  },
  { id: 7, title: "Team members", body: "Invite team members by email and give each a role." },
  { id: 8, title: "Dark mode", body: "Switch the console to dark mode under Appearance." },
  {
    id: 9,
    title: "Forgotten password",
    body: "Forgot your password? Use the reset link on the sign-in page to set a new one.",
  },
  { id: 10, title: "API tokens", body: "Create API tokens for scripts under Developer settings." },
];

describe("aibridge through the gateway, offline provider", () => {
  let system: RunningSystem;
  let ai: ReturnType<typeof gatewayClients>["ai"];
  const env = () => ({
    LAKEHOUSE_URL: system.gateway.url.origin,
    LAKEHOUSE_TOKEN: system.adminToken,
  });

  beforeAll(async () => {
    system = await startSystem();
    const clients = gatewayClients(system.gateway.url);
    ai = clients.ai;
    const ndjson = `${ARTICLES.map((a) => JSON.stringify(a)).join("\n")}\n`;
    await putObject(clients.storage, "uploads/articles.ndjson", Buffer.from(ndjson));
    await clients.catalog.ingestObject({
      dataset: "articles",
      sourceKey: "uploads/articles.ndjson",
      createIfMissing: true,
      deleteSource: true,
    });
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
  });

  it("embeds deterministically and normalised, the same vectors in any process", async () => {
    const texts = ["reset my password", "Quarterly revenue by region"];
    const first = await ai.embed({ texts });
    expect(first.provider).toBe("builtin");
    expect(first.dimensions).toBe(256);
    for (const embedding of first.embeddings) {
      const norm = Math.sqrt(embedding.values.reduce((sum, v) => sum + v * v, 0));
      expect(norm).toBeCloseTo(1, 5);
    }
    expect((await ai.embed({ texts })).embeddings).toEqual(first.embeddings);
    // Computed in this process, with no state shared: the vectors depend on the text alone.
    expect(first.embeddings.map((e) => e.values)).toEqual(
      texts.map((text) => hashedEmbedding(text, 256)),
    );
  });

  it("indexes a text column and finds the rows a person would expect on top (CLI)", async () => {
    const index = testContext(env());
    expect(
      await runCli(["index", "articles", "--column", "body"], index),
      index.stderr.text(),
    ).toBe(0);
    expect(index.stdout.text()).toMatch(/embedded\s+10\n/);

    const search = testContext(env());
    const code = await runCli(
      [
        "search",
        "articles",
        "I forgot my password, how do I reset it?",
        "--k",
        "2",
        "--format",
        "json",
      ],
      search,
    );
    expect(code, search.stderr.text()).toBe(0);
    const hits = search.stdout
      .text()
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as { score: number; row: { id: string | number; title: string } },
      );
    expect(hits.map((hit) => Number(hit.row.id)).sort()).toEqual([1, 9]);
    expect(hits[0]?.score).toBeGreaterThan(0);
    expect(hits[0]?.score).toBeGreaterThanOrEqual(hits[1]?.score ?? 0);

    const vector = await ai.searchDataset({
      dataset: "articles",
      column: "body",
      query: "refund to my card",
      k: 1,
      mode: 1,
    });
    expect(vector.hits.map((hit) => JSON.parse(hit.rowJson).title)).toEqual(["Refunds"]);
    const read = vector.receipts.map((r) => r.dataset).sort();
    expect(read).toHaveLength(2);
    expect(read[0]).toBe("articles");
    expect(read[1]).toMatch(/^articles__body__vec_[0-9a-f]{12}$/);
  });

  it("refuses a search of a dataset the caller holds no grant for", async () => {
    const token = await system.token({ scopes: ["ai"], datasets: ["other*"] });
    const { ai: stranger } = gatewayClients(system.gateway.url, token);
    const denied = await stranger
      .searchDataset({ dataset: "articles", column: "body", query: "password" })
      .catch((error: unknown) => ConnectError.from(error));
    expect(denied).toBeInstanceOf(ConnectError);
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
  });

  it("rebuilding an unchanged snapshot reuses every vector", async () => {
    const rebuilt = await ai.buildSearchIndex({ dataset: "articles", column: "body" });
    expect([rebuilt.rowsEmbedded, rebuilt.rowsReused, rebuilt.indexVersion]).toEqual([0n, 10n, 2n]);
  });

  it("reranks with BM25 and refuses generation with FAILED_PRECONDITION", async () => {
    const ranked = await ai.rerank({
      query: "export to parquet",
      documents: ARTICLES.map((a) => a.body),
      topN: 1,
    });
    expect(ranked.method).toBe("bm25");
    expect(ranked.results.map((r) => r.index)).toEqual([4]);

    const ask = testContext(env());
    expect(await runCli(["ask", "how many articles are there?"], ask)).toBe(1);
    expect(ask.stderr.text()).toContain("error: failed_precondition:");
    const error = await (async () => {
      try {
        for await (const _ of ai.generate({ prompt: "hi" })) {
          // Nothing is expected.
        }
      } catch (caught) {
        return ConnectError.from(caught);
      }
    })();
    expect(error?.code).toBe(Code.FailedPrecondition);
  });
});
