import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { type AiFixture, startAiFixture } from "../aibridge/testing/ai-fixture.js";
import { createLogger } from "../kit/logger.js";
import {
  createServiceServer,
  registration,
  type ServiceServer,
  serverSettings,
} from "../kit/server.js";
import { runCli } from "./cli-program.js";
import { testContext } from "./testing/test-context.js";

let fixture: AiFixture;
let server: ServiceServer;
let url = "";

beforeAll(async () => {
  fixture = await startAiFixture();
  await fixture.data.ingest(
    "notes",
    "SELECT * FROM (VALUES (1, 'buy milk and eggs'), (2, 'call the plumber about the leak'), (3, 'renew the car insurance')) t(id, note)",
  );
  server = createServiceServer({
    services: [registration(AiService, fixture.service)],
    settings: z.object(serverSettings("127.0.0.1:0")).parse({}),
    logger: createLogger({ level: "error" }),
  });
  url = (await server.start()).origin;
});

afterAll(async () => {
  await server?.shutdown();
  await fixture?.close();
});

const run = async (args: string[], tty = false) => {
  const context = testContext({ LAKEHOUSE_URL: url }, { tty });
  const code = await runCli(args, context);
  return { code, out: context.stdout.text(), err: context.stderr.text() };
};

describe("AI commands", () => {
  it("embed prints one JSON line per text with its vector", async () => {
    const { code, out } = await run(["embed", "hello world", "bye"]);
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => [l.text, l.provider, l.dimensions, l.values.length])).toEqual([
      ["hello world", "builtin", 256, 256],
      ["bye", "builtin", 256, 256],
    ]);
  });

  it("index builds the index and search prints NDJSON rows with a score, best first", async () => {
    const indexed = await run(["index", "notes", "--column", "note"]);
    expect(indexed.code, indexed.err).toBe(0);
    expect(indexed.out).toMatch(/embedded\s+3\n/);
    const found = await run([
      "search",
      "notes",
      "plumber leak",
      "--column",
      "note",
      "--k",
      "2",
      "--format",
      "json",
    ]);
    expect(found.code, found.err).toBe(0);
    const hits = found.out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(hits).toHaveLength(2);
    expect(hits[0].row).toEqual({ id: 2, note: "call the plumber about the leak" });
    expect(hits[0].score).toBeGreaterThan(hits[1].score);
    const table = await run(
      ["search", "notes", "car insurance", "--column", "note", "--k", "1"],
      true,
    );
    expect(table.out).toMatch(/^\s*SCORE\s+id\s+note\n/);
    expect(table.out).toContain("renew the car insurance");
  });

  it("ask fails with the server's FAILED_PRECONDITION when no model generates text", async () => {
    const { code, err } = await run(["ask", "how many notes?"]);
    expect(code).toBe(1);
    expect(err).toMatch(
      /^error: failed_precondition: .*generates no text.* \(reason: NO_TEXT_GENERATION\)\n$/,
    );
  });
});
