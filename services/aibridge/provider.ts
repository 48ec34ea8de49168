/** What a model can do, as ListModels reports it. */
export type Capability = "embed" | "generate" | "rerank";

/** One model a provider offers. */
export interface ProviderModel {
  readonly name: string;
  readonly capabilities: Capability[];
}

/** One turn of a conversation sent to a chat endpoint. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** A generation request, already checked against the limits. */
export interface GenerateInput {
  readonly model: string;
  /** The conversation; a plain prompt is one user message after an optional system one. */
  readonly messages: ChatMessage[];
  readonly maxTokens: number;
  readonly temperature?: number | undefined;
}

/** Totals at the end of a generation. */
export interface GenerateUsage {
  readonly promptTokens: number;
  readonly outputTokens: number;
  readonly finishReason: string;
}

/** One event of a generation stream: a piece of text, or the closing totals. */
export type GenerateEvent = { text: string } | { usage: GenerateUsage };

/** One document's place in a ranking. */
export interface RankedDocument {
  readonly index: number;
  readonly score: number;
}

/**
 * A model server behind one interface, so every RPC works the same against
 * Ollama, an OpenAI-compatible server or the built-in offline provider. Every
 * method takes the call's signal: cancelling the RPC aborts the HTTP request.
 * Failures are ConnectErrors already mapped to their codes.
 */
export interface ModelProvider {
  readonly name: string;
  readonly kind: "builtin" | "ollama" | "openai";
  /** The configured default model for a capability, or "" when none is set. */
  defaultModel(capability: Capability): string;
  /** One vector per text, in order. */
  embed(texts: string[], model: string, signal: AbortSignal): Promise<number[][]>;
  /** Streams generated text; the last event carries the totals. */
  generate(input: GenerateInput, signal: AbortSignal): AsyncIterable<GenerateEvent>;
  /** The provider's own rerank endpoint, when it has one. */
  readonly rerank?: (
    query: string,
    documents: string[],
    model: string,
    signal: AbortSignal,
  ) => Promise<RankedDocument[]>;
  /** The models the server offers. */
  listModels(signal: AbortSignal): Promise<ProviderModel[]>;
}

/** Orders rankings best first; equal scores keep document order so answers are stable. */
export function byScore(a: RankedDocument, b: RankedDocument): number {
  return b.score - a.score || a.index - b.index;
}
