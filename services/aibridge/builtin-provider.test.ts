import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { bm25Rank } from "./bm25.js";
import { hashedEmbedding } from "./hashed-embedding.js";
import { type AiServer, startAiServer } from "./testing/ai-server.js";

const norm = (values: number[]) => Math.sqrt(values.reduce((sum, v) => sum + v * v, 0));
const dot = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0);

describe("hashed n-gram embeddings", () => {
  it("are deterministic, of the configured length and L2-normalised", () => {
    const a = hashedEmbedding("Quarterly revenue by region", 256);
    expect(a).toHaveLength(256);
    expect(hashedEmbedding("Quarterly revenue by region", 256)).toEqual(a);
    expect(norm(a)).toBeCloseTo(1, 6);
    expect(hashedEmbedding("!!!", 64)).toEqual(new Array(64).fill(0));
  });

  it("put texts sharing words closer than unrelated texts", () => {
    const query = hashedEmbedding("reset my password", 256);
    const related = hashedEmbedding("How to reset a forgotten password", 256);
    const unrelated = hashedEmbedding("Baking sourdough bread at home", 256);
    expect(dot(query, related)).toBeGreaterThan(dot(query, unrelated) + 0.2);
  });

  it("match plural and singular forms and ignore case", () => {
    expect(hashedEmbedding("Invoices", 128)).toEqual(hashedEmbedding("invoice", 128));
  });
});

describe("BM25", () => {
  it("ranks documents holding rare query terms first and keeps every document", () => {
    const ranked = bm25Rank("sourdough starter", [
      "bread and butter",
      "a sourdough starter needs feeding",
      "the starter motor of a car",
      "nothing here",
    ]);
    expect(ranked.map((r) => r.index)).toEqual([1, 2, 0, 3]);
    expect(ranked[3]?.score).toBe(0);
  });
});

describe("the built-in provider through AiService", () => {
  let server: AiServer;
  beforeAll(async () => {
    server = await startAiServer({ limits: { maxTexts: 4, maxTextBytes: 64 } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("is the default and embeds offline", async () => {
    const answer = await server.ai.embed({ texts: ["alpha beta", "gamma"] });
    expect([answer.provider, answer.model, answer.dimensions]).toEqual([
      "builtin",
      "hashed-ngrams-256",
      256,
    ]);
    const first = answer.embeddings[0]?.values ?? [];
    expect(first).toEqual(hashedEmbedding("alpha beta", 256));
  });

  it("refuses Generate with FAILED_PRECONDITION saying how to configure a model server", async () => {
    const error = await (async () => {
      try {
        for await (const _ of server.ai.generate({ prompt: "hello" })) {
          // No message is expected.
        }
      } catch (caught) {
        return ConnectError.from(caught);
      }
    })();
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(errorReason(error)).toBe("NO_TEXT_GENERATION");
    expect(error?.rawMessage).toContain("aibridge.providers");
  });

  it("reranks with BM25", async () => {
    const answer = await server.ai.rerank({
      query: "password reset",
      documents: ["bread recipes", "reset your password here", "password tips"],
    });
    expect(answer.method).toBe("bm25");
    expect(answer.results.map((r) => r.index)).toEqual([1, 2, 0]);
  });

  it("answers INVALID_ARGUMENT for no texts, too many texts and a text over the byte limit", async () => {
    const codeOf = async (work: Promise<unknown>) =>
      work.then(
        () => "ok",
        (error: unknown) => errorReason(error),
      );
    expect(await codeOf(server.ai.embed({ texts: [] }))).toBe("NO_TEXTS");
    expect(await codeOf(server.ai.embed({ texts: ["a", "b", "c", "d", "e"] }))).toBe(
      "TOO_MANY_TEXTS",
    );
    expect(await codeOf(server.ai.embed({ texts: ["é".repeat(33)] }))).toBe("TEXT_TOO_LARGE");
    expect(await codeOf(server.ai.rerank({ query: "", documents: ["a"] }))).toBe("MISSING_FIELD");
    const unknown = await server.ai.embed({ texts: ["a"], model: "nope" }).catch((e: unknown) => e);
    expect(ConnectError.from(unknown).code).toBe(Code.NotFound);
    const provider = await server.ai
      .embed({ texts: ["a"], provider: "nope" })
      .catch((e: unknown) => e);
    expect(ConnectError.from(provider).code).toBe(Code.NotFound);
  });

  it("refuses AskQuestion with FAILED_PRECONDITION", async () => {
    const error = await server.ai
      .askQuestion({ question: "how many rows?" })
      .catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.FailedPrecondition);
  });
});
