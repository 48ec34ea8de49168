import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerateResponse } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { errorReason } from "../kit/errors.js";
import { type AiServer, startAiServer } from "./testing/ai-server.js";
import {
  type FakeModelServer,
  fakeVector,
  startFakeModelServer,
} from "./testing/fake-model-server.js";

async function failure(work: Promise<unknown> | (() => Promise<unknown>)): Promise<ConnectError> {
  try {
    await (typeof work === "function" ? work() : work);
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

async function collect(stream: AsyncIterable<GenerateResponse>) {
  const pieces: string[] = [];
  let usage: { outputTokens: bigint; promptTokens: bigint; finishReason: string } | undefined;
  for await (const message of stream) {
    if (message.payload.case === "text") pieces.push(message.payload.value);
    if (message.payload.case === "usage") usage = message.payload.value;
  }
  return { pieces, usage };
}

const closedPort = "http://127.0.0.1:9";

describe("Ollama provider against an Ollama-protocol server", () => {
  let ollama: FakeModelServer;
  let server: AiServer;
  beforeAll(async () => {
    ollama = await startFakeModelServer({
      protocol: "ollama",
      models: ["llama3.2", "nomic-embed-text"],
    });
    server = await startAiServer({
      defaultProvider: "ollama",
      providers: [
        {
          name: "ollama",
          kind: "ollama",
          baseUrl: ollama.url,
          embedModel: "nomic-embed-text",
          generateModel: "llama3.2",
        },
        { name: "down", kind: "ollama", baseUrl: closedPort, embedModel: "m" },
      ],
      limits: { maxResponseBytes: 64 * 1024, maxOutputBytes: 1024 },
      timeouts: { requestMs: 300, firstTokenMs: 300, idleMs: 300 },
    });
  });
  afterAll(async () => {
    await server?.close();
    await ollama?.close();
  });

  it("embeds through /api/embed, one vector per text in order", async () => {
    const answer = await server.ai.embed({ texts: ["first", "second text"] });
    expect(answer.provider).toBe("ollama");
    expect(answer.model).toBe("nomic-embed-text");
    expect(answer.dimensions).toBe(3);
    expect(answer.embeddings.map((e) => e.values.map((v) => Math.round(v * 1e4)))).toEqual(
      ["first", "second text"].map((t) => fakeVector(t).map((v) => Math.round(v * 1e4))),
    );
    const sent = ollama.requests.at(-1);
    expect(sent?.path).toBe("/api/embed");
    expect(sent?.body).toEqual({ model: "nomic-embed-text", input: ["first", "second text"] });
  });

  it("streams a generation from /api/generate NDJSON and ends with the done line's totals", async () => {
    const { pieces, usage } = await collect(
      server.ai.generate({
        prompt: "Why is the sky blue?",
        system: "Be brief.",
        maxTokens: 64,
        temperature: 0,
      }),
    );
    expect(pieces.join("")).toBe("The sky is blue.");
    expect(pieces.length).toBe(5);
    expect(usage).toEqual({
      promptTokens: 26n,
      outputTokens: 5n,
      finishReason: "stop",
      $typeName: "lakehouse.ai.v1.GenerateUsage",
    });
    const sent = ollama.requests.at(-1);
    expect(sent?.path).toBe("/api/generate");
    expect(sent?.body).toMatchObject({
      model: "llama3.2",
      prompt: "Why is the sky blue?",
      system: "Be brief.",
      stream: true,
      options: { num_predict: 64, temperature: 0 },
    });
  });

  it("answers NOT_FOUND for a model the server does not have", async () => {
    const embed = await failure(server.ai.embed({ texts: ["x"], model: "missing" }));
    expect(embed.code).toBe(Code.NotFound);
    expect(embed.rawMessage).toContain('model "missing" not found');
    const generate = await failure(collect(server.ai.generate({ prompt: "x", model: "missing" })));
    expect(generate.code).toBe(Code.NotFound);
  });

  it("answers UNAVAILABLE when the server is down", async () => {
    const error = await failure(server.ai.embed({ texts: ["x"], provider: "down" }));
    expect(error.code).toBe(Code.Unavailable);
    expect(errorReason(error)).toBe("PROVIDER_UNREACHABLE");
  });

  it("answers DEADLINE_EXCEEDED when the server is too slow", async () => {
    ollama.delayMs = 1_000;
    try {
      const embed = await failure(server.ai.embed({ texts: ["x"] }));
      expect(embed.code).toBe(Code.DeadlineExceeded);
      const generate = await failure(collect(server.ai.generate({ prompt: "x" })));
      expect(generate.code).toBe(Code.DeadlineExceeded);
    } finally {
      ollama.delayMs = 0;
    }
  });

  it("answers UNAVAILABLE when the server drops the connection mid-stream, after the text it sent", async () => {
    ollama.behaviour = "drop";
    const pieces: string[] = [];
    try {
      const error = await failure(async () => {
        for await (const message of server.ai.generate({ prompt: "x" })) {
          if (message.payload.case === "text") pieces.push(message.payload.value);
        }
      });
      expect(error.code).toBe(Code.Unavailable);
      expect(pieces.join("")).toBe("The sky");
    } finally {
      ollama.behaviour = "complete";
    }
  });

  it("closes the provider connection when the client cancels a streaming generation", async () => {
    ollama.behaviour = "endless";
    const controller = new AbortController();
    try {
      const error = await failure(async () => {
        for await (const message of server.ai.generate(
          { prompt: "x" },
          { signal: controller.signal },
        )) {
          if (message.payload.case === "text") controller.abort();
        }
      });
      expect(error.code).toBe(Code.Canceled);
      await ollama.streamAbandoned();
    } finally {
      ollama.behaviour = "complete";
    }
  });

  it("cuts off an oversized answer instead of buffering it", async () => {
    ollama.padBytes = 200 * 1024;
    try {
      const error = await failure(server.ai.embed({ texts: ["x"] }));
      expect(error.code).toBe(Code.ResourceExhausted);
      expect(errorReason(error)).toBe("PROVIDER_ANSWER_TOO_LARGE");
    } finally {
      ollama.padBytes = 0;
    }
  });

  it("cuts a generation at the output byte limit and reports finish reason length", async () => {
    ollama.behaviour = "endless";
    try {
      const { pieces, usage } = await collect(server.ai.generate({ prompt: "x" }));
      expect(Buffer.byteLength(pieces.join(""))).toBe(1024);
      expect(usage?.finishReason).toBe("length");
      await ollama.streamAbandoned();
    } finally {
      ollama.behaviour = "complete";
    }
  });

  it("lists /api/tags models, reporting a down provider instead of failing", async () => {
    const all = await server.ai.listModels({});
    expect(all.models.map((m) => [m.provider, m.name, m.capabilities])).toEqual([
      ["builtin", "hashed-ngrams-256", ["embed", "rerank"]],
      ["ollama", "llama3.2", ["generate", "embed"]],
      ["ollama", "nomic-embed-text", ["embed"]],
    ]);
    expect(all.providers.map((p) => [p.provider, p.available])).toEqual([
      ["builtin", true],
      ["ollama", true],
      ["down", false],
    ]);
    expect(all.providers[2]?.error).not.toBe("");
    expect((await failure(server.ai.listModels({ provider: "down" }))).code).toBe(Code.Unavailable);
    expect((await failure(server.ai.listModels({ provider: "nope" }))).code).toBe(Code.NotFound);
  });

  it("reranks by embedding cosine, as Ollama has no rerank endpoint", async () => {
    const answer = await server.ai.rerank({ query: "abc", documents: ["a", "abd", "zzzzzzzzzz"] });
    expect(answer.method).toBe("embedding_cosine");
    expect(answer.results).toHaveLength(3);
    expect(answer.results[0]?.score).toBeGreaterThanOrEqual(answer.results[1]?.score ?? 0);
  });
});

describe("OpenAI-compatible provider against an OpenAI-protocol server", () => {
  let openai: FakeModelServer;
  let server: AiServer;
  let keyDirectory: string;
  beforeAll(async () => {
    openai = await startFakeModelServer({
      protocol: "openai",
      models: ["gpt-test", "text-embedding-test", "rerank-test"],
      apiKey: "sk-secret",
    });
    keyDirectory = await mkdtemp(join(tmpdir(), "aibridge-key-"));
    await writeFile(join(keyDirectory, "key"), "sk-secret\n");
    server = await startAiServer(
      {
        providers: [
          {
            name: "openai",
            kind: "openai",
            baseUrl: `${openai.url}/v1`,
            apiKeyFile: join(keyDirectory, "key"),
            embedModel: "text-embedding-test",
            generateModel: "gpt-test",
            rerankModel: "rerank-test",
            rerankEndpoint: true,
          },
          {
            name: "badkey",
            kind: "openai",
            baseUrl: openai.url,
            apiKeyEnv: "BAD_KEY",
            generateModel: "gpt-test",
          },
        ],
        limits: { maxOutputBytes: 1024 },
      },
      { BAD_KEY: "sk-wrong" },
    );
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
    if (keyDirectory) await rm(keyDirectory, { recursive: true, force: true });
  });

  it("embeds through /v1/embeddings with the API key, in text order whatever the answer order", async () => {
    const answer = await server.ai.embed({ texts: ["one", "three"], provider: "openai" });
    expect(answer.embeddings.map((e) => Math.round((e.values[0] ?? 0) * 10))).toEqual([3, 5]);
    const sent = openai.requests.at(-1);
    expect(sent?.path).toBe("/v1/embeddings");
    expect(sent?.headers.authorization).toBe("Bearer sk-secret");
    expect(sent?.body).toEqual({
      model: "text-embedding-test",
      input: ["one", "three"],
      encoding_format: "float",
    });
  });

  it("streams a chat completion from server-sent events up to data: [DONE]", async () => {
    const { pieces, usage } = await collect(
      server.ai.generate({ prompt: "Why?", system: "Be brief.", provider: "openai" }),
    );
    expect(pieces.join("")).toBe("The sky is blue.");
    expect(usage?.finishReason).toBe("stop");
    expect(usage?.promptTokens).toBe(12n);
    expect(usage?.outputTokens).toBe(5n);
    expect(openai.requests.at(-1)?.body).toMatchObject({
      model: "gpt-test",
      stream: true,
      max_tokens: 512,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Why?" },
      ],
    });
  });

  it("closes the connection when the client cancels a streaming chat completion", async () => {
    openai.behaviour = "endless";
    const controller = new AbortController();
    try {
      const error = await failure(async () => {
        const stream = server.ai.generate(
          { prompt: "x", provider: "openai" },
          { signal: controller.signal },
        );
        for await (const message of stream) if (message.payload.case === "text") controller.abort();
      });
      expect(error.code).toBe(Code.Canceled);
      await openai.streamAbandoned();
    } finally {
      openai.behaviour = "complete";
    }
  });

  it("reranks through /v1/rerank when the server offers it", async () => {
    const answer = await server.ai.rerank({
      query: "cat",
      documents: ["a dog", "a cat", "a bird"],
      provider: "openai",
      topN: 2,
    });
    expect(answer.method).toBe("rerank");
    expect(answer.results.map((r) => r.index)).toEqual([1, 0]);
    expect(openai.requests.at(-1)?.body).toEqual({
      model: "rerank-test",
      query: "cat",
      documents: ["a dog", "a cat", "a bird"],
    });
  });

  it("maps the server's error bodies: unknown model NOT_FOUND, refused key FAILED_PRECONDITION, 503 UNAVAILABLE", async () => {
    const missing = await failure(
      server.ai.embed({ texts: ["x"], provider: "openai", model: "nope" }),
    );
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain("The model `nope` does not exist");
    const key = await failure(collect(server.ai.generate({ prompt: "x", provider: "badkey" })));
    expect(key.code).toBe(Code.FailedPrecondition);
    expect(key.rawMessage).not.toContain("sk-wrong\n");
    openai.failWith = {
      status: 503,
      body: '{"error":{"message":"overloaded","type":"server_error"}}',
    };
    try {
      const down = await failure(server.ai.embed({ texts: ["x"], provider: "openai" }));
      expect(down.code).toBe(Code.Unavailable);
      openai.failWith = {
        status: 400,
        body: '{"error":{"message":"input too long","type":"invalid_request_error"}}',
      };
      const refused = await failure(server.ai.embed({ texts: ["x"], provider: "openai" }));
      expect(refused.code).toBe(Code.InvalidArgument);
    } finally {
      openai.failWith = undefined;
    }
  });

  it("lists /v1/models", async () => {
    const answer = await server.ai.listModels({ provider: "openai" });
    expect(answer.models.map((m) => [m.name, m.capabilities])).toEqual([
      ["gpt-test", ["generate"]],
      ["text-embedding-test", ["embed"]],
      ["rerank-test", ["rerank"]],
    ]);
  });
});
