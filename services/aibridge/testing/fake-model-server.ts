import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How the fake answers generation requests. */
export type StreamBehaviour =
  /** The configured tokens, then the protocol's end. */
  | "complete"
  /** Tokens forever (every 20 ms) until the client hangs up. */
  | "endless"
  /** Two tokens, then the socket is destroyed with no end. */
  | "drop";

/** A request the fake received. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Record<string, unknown>;
}

/** Options of {@link startFakeModelServer}. */
export interface FakeModelServerOptions {
  /** The protocol spoken. */
  readonly protocol: "ollama" | "openai";
  /** Models the server knows; others are answered as the real servers do (404). */
  readonly models?: string[];
  /** Tokens of a generation. */
  readonly tokens?: string[];
  /** Required bearer key (OpenAI); none when unset. */
  readonly apiKey?: string;
}

/**
 * A local HTTP server that speaks the wire protocol of Ollama's native API or
 * of an OpenAI-compatible server, byte for byte as those servers send it
 * (Ollama's NDJSON lines ending with `"done": true`, OpenAI's `data: {...}`
 * server-sent events ending with `data: [DONE]`, their error bodies), with
 * knobs for faults: a delay before answering, dropped connections, endless
 * streams. It records requests and notices when a client hangs up.
 */
export interface FakeModelServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Delay before any answer, in milliseconds. */
  delayMs: number;
  behaviour: StreamBehaviour;
  /** An HTTP status and body to answer every request with instead. */
  failWith: { status: number; body: string } | undefined;
  /** Extra bytes padded into embedding answers (to exceed size caps). */
  padBytes: number;
  /** Token lists for the next generations, one per request, before `tokens` applies again. */
  replies: string[][];
  /** Resolves when a client closes a streaming connection before its end. */
  streamAbandoned(): Promise<void>;
  close(): Promise<void>;
}

const OLLAMA_DONE = {
  total_duration: 5_043_500_667,
  load_duration: 5_025_959,
  prompt_eval_count: 26,
  prompt_eval_duration: 325_953_000,
  eval_duration: 4_709_213_000,
};

/** A vector the fake derives from a text, so answers differ per input. */
export function fakeVector(text: string): number[] {
  const sum = [...text].reduce((total, c) => total + (c.codePointAt(0) ?? 0), 0);
  return [text.length / 10, (sum % 97) / 97, 0.5];
}

/** Starts the fake on a free loopback port. */
export async function startFakeModelServer(
  options: FakeModelServerOptions,
): Promise<FakeModelServer> {
  const models = options.models ?? ["known-model"];
  const tokens = options.tokens ?? ["The", " sky", " is", " blue", "."];
  const requests: SeenRequest[] = [];
  let abandoned: () => void = () => {};
  const abandonedPromise = new Promise<void>((resolve) => {
    abandoned = resolve;
  });
  const sockets = new Set<import("node:net").Socket>();
  const state = {
    delayMs: 0,
    behaviour: "complete" as StreamBehaviour,
    failWith: undefined as { status: number; body: string } | undefined,
    padBytes: 0,
    replies: [] as string[][],
  };
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const body = text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
    const path = (request.url ?? "").split("?")[0] ?? "";
    requests.push({ method: request.method ?? "", path, headers: request.headers, body });
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    if (response.destroyed) return;
    if (state.failWith) {
      response.writeHead(state.failWith.status, { "content-type": "application/json" });
      response.end(state.failWith.body);
      return;
    }
    if (options.apiKey && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      return json(response, 401, {
        error: {
          message: "Incorrect API key provided: sk-wrong. You can find your API key in settings.",
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key",
        },
      });
    }
    const model = String(body.model ?? "");
    if (request.method === "POST" && !models.includes(model)) {
      return options.protocol === "ollama"
        ? json(response, 404, { error: `model "${model}" not found, try pulling it first` })
        : json(response, 404, {
            error: {
              message: `The model \`${model}\` does not exist or you do not have access to it.`,
              type: "invalid_request_error",
              param: null,
              code: "model_not_found",
            },
          });
    }
    const route = `${request.method} ${path}`;
    const inputs = (body.input ?? []) as string[];
    const pad = "x".repeat(state.padBytes);
    switch (route) {
      case "POST /api/embed":
        return json(response, 200, {
          model,
          embeddings: inputs.map(fakeVector),
          total_duration: 14_143_917,
          load_duration: 1_019_500,
          prompt_eval_count: 8,
          ...(pad ? { pad } : {}),
        });
      case "GET /api/tags":
        return json(response, 200, {
          models: models.map((name) => ({
            name,
            model: name,
            modified_at: "2025-10-03T23:34:03.409490317-07:00",
            size: 3_338_801_804,
            digest: "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            details: {
              format: "gguf",
              family: name.includes("embed") ? "nomic-bert" : "llama",
              families: null,
              parameter_size: "3.2B",
              quantization_level: "Q4_K_M",
            },
          })),
        });
      case "POST /api/generate":
      case "POST /api/chat":
        return stream(response, path === "/api/chat" ? "chat" : "generate", model);
      case "POST /v1/embeddings":
        return json(response, 200, {
          object: "list",
          // Out of order on purpose: clients must sort by index.
          data: inputs
            .map((input, index) => ({ object: "embedding", index, embedding: fakeVector(input) }))
            .reverse(),
          model,
          usage: { prompt_tokens: 8, total_tokens: 8 },
          ...(pad ? { pad } : {}),
        });
      case "GET /v1/models":
        return json(response, 200, {
          object: "list",
          data: models.map((id) => ({ id, object: "model", created: 1686935002, owned_by: "me" })),
        });
      case "POST /v1/rerank": {
        const documents = body.documents as string[];
        const query = String(body.query);
        const results = documents
          .map((document, index) => ({
            index,
            relevance_score: document.includes(query) ? 0.9 : 0.1 / (index + 1),
          }))
          .sort((a, b) => b.relevance_score - a.relevance_score);
        return json(response, 200, { id: "rerank-1", model, results, usage: { total_tokens: 9 } });
      }
      case "POST /v1/chat/completions":
        return stream(response, "openai", model);
      default:
        response.writeHead(404, { "content-type": "text/plain" });
        response.end("404 page not found");
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function json(response: ServerResponse, status: number, value: unknown) {
    response.writeHead(status, { "content-type": "application/json; charset=utf-8" });
    response.end(JSON.stringify(value));
  }

  async function stream(
    response: ServerResponse,
    kind: "generate" | "chat" | "openai",
    model: string,
  ) {
    const created = "2025-10-04T10:00:00.000000Z";
    const piece = (token: string) => {
      if (kind === "generate")
        return `${JSON.stringify({ model, created_at: created, response: token, done: false })}\n`;
      if (kind === "chat") {
        return `${JSON.stringify({ model, created_at: created, message: { role: "assistant", content: token }, done: false })}\n`;
      }
      return `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model, system_fingerprint: "fp_1", choices: [{ index: 0, delta: { content: token }, logprobs: null, finish_reason: null }] })}\n\n`;
    };
    response.writeHead(200, {
      "content-type": kind === "openai" ? "text/event-stream" : "application/x-ndjson",
      ...(kind === "openai" ? { "cache-control": "no-cache", connection: "keep-alive" } : {}),
    });
    let finished = false;
    response.on("close", () => {
      if (!finished) abandoned();
    });
    if (kind === "openai") {
      response.write(
        `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] })}\n\n`,
      );
    }
    let sent = 0;
    const reply = state.replies.shift() ?? tokens;
    const all = state.behaviour === "complete" ? reply : reply.slice(0, 2);
    for (const token of all) {
      if (response.destroyed) return;
      response.write(piece(token));
      sent++;
      await new Promise((r) => setTimeout(r, 5));
    }
    if (state.behaviour === "drop") {
      response.socket?.destroy();
      return;
    }
    while (state.behaviour === "endless" && !response.destroyed) {
      response.write(piece(" and the stream goes on, and on, and on, and on, and on, and on."));
      sent++;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (response.destroyed) return;
    finished = true;
    if (kind === "openai") {
      response.write(
        `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] })}\n\n`,
      );
      response.write(
        `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model, choices: [], usage: { prompt_tokens: 12, completion_tokens: sent, total_tokens: 12 + sent } })}\n\n`,
      );
      response.end("data: [DONE]\n\n");
    } else {
      const last = {
        model,
        created_at: created,
        done: true,
        done_reason: "stop",
        ...OLLAMA_DONE,
        eval_count: sent,
      };
      response.end(
        `${JSON.stringify(kind === "chat" ? { ...last, message: { role: "assistant", content: "" } } : { ...last, response: "", context: [1, 2, 3] })}\n`,
      );
    }
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    requests,
    streamAbandoned: () => abandonedPromise,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
