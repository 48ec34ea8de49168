import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractSql } from "./ask-question.js";
import { type AiFixture, startAiFixture } from "./testing/ai-fixture.js";
import { type FakeModelServer, startFakeModelServer } from "./testing/fake-model-server.js";

let fixture: AiFixture;
let ollama: FakeModelServer;

beforeAll(async () => {
  ollama = await startFakeModelServer({ protocol: "ollama", models: ["sql-model"] });
  fixture = await startAiFixture({
    defaultProvider: "ollama",
    providers: [
      { name: "ollama", kind: "ollama", baseUrl: ollama.url, generateModel: "sql-model" },
    ],
  });
  await fixture.data.ingest(
    "sales",
    "SELECT * FROM (VALUES (1, 'north', 10.5), (2, 'south', 3.0), (3, 'north', 1.5)) t(id, region, amount)",
  );
});

afterAll(async () => {
  await fixture?.close();
  await ollama?.close();
});

describe("AskQuestion", () => {
  it("prompts with the readable schemas, repairs once after EXPLAIN refuses, and runs the SQL", async () => {
    ollama.replies = [
      ["```sql\n", "SELECT region, sum(amount) AS total FROM salez GROUP BY region", "\n```"],
      ["SELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region;"],
    ];
    const answer = await fixture.ai.askQuestion({
      question: "What is the total amount per region?",
      execute: true,
    });
    expect(answer.sql).toBe(
      "SELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region",
    );
    expect(answer.validated).toBe(true);
    expect(answer.validationError).toBe("");
    expect(answer.jsonRows.map((row) => JSON.parse(row))).toEqual([
      { region: "north", total: "12.0" },
      { region: "south", total: "3.0" },
    ]);
    // A system and user message go to /api/generate; the repair conversation to /api/chat.
    const calls = ollama.requests.filter((r) => r.path.startsWith("/api/"));
    expect(calls.map((r) => r.path)).toEqual(["/api/generate", "/api/chat"]);
    const firstPrompt = JSON.stringify(calls[0]?.body);
    expect(firstPrompt).toContain("TABLE sales");
    expect(firstPrompt).toContain('\\"region\\" VARCHAR');
    expect(firstPrompt).toContain("What is the total amount per region?");
    expect(JSON.stringify(calls[1]?.body.messages)).toContain("salez");
  });

  it("returns unvalidated SQL with DuckDB's error when the repair fails too", async () => {
    ollama.replies = [["SELECT nope FROM sales"], ["SELECT still_nope FROM sales"]];
    const answer = await fixture.ai.askQuestion({
      question: "?",
      datasets: ["sales"],
      execute: true,
    });
    expect(answer.validated).toBe(false);
    expect(answer.sql).toBe("SELECT still_nope FROM sales");
    expect(answer.validationError).toContain("still_nope");
    expect(answer.jsonRows).toEqual([]);
  });

  it("keeps the statement out of a model's prose", () => {
    expect(extractSql("Here you go:\n```sql\nSELECT 1;\n```\nEnjoy")).toBe("SELECT 1");
    expect(extractSql("  SELECT 2; SELECT 3")).toBe("SELECT 2");
  });
});
