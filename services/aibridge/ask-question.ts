import { Code, ConnectError } from "@connectrpc/connect";
import type { Dataset } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";
import { generationUnavailable } from "./builtin-provider.js";
import { forEachJsonRow, type LakehouseClients } from "./lakehouse-clients.js";
import type { ChatMessage } from "./provider.js";
import type { ProviderRegistry, ResolvedModel } from "./provider-registry.js";
import { truncateUtf8 } from "./request-checks.js";

/** Rows AskQuestion returns at most when it runs the SQL. */
export const ASK_MAX_ROWS = 1000n;

/** Datasets whose schemas one prompt shows at most. */
const MAX_PROMPT_DATASETS = 100;

/** Tokens a model may spend on one SQL answer. */
const SQL_TOKENS = 1024;

/** A question, already checked. */
export interface AskRequest {
  readonly question: string;
  /** The datasets the prompt may show, already limited to the caller's grants. */
  readonly datasets: string[];
  readonly execute: boolean;
  readonly provider: string;
  readonly model: string;
}

/** The answer of AskQuestion. */
export interface AskAnswer {
  readonly sql: string;
  readonly validated: boolean;
  readonly validationError: string;
  readonly jsonRows: string[];
}

/** What answering a question needs. */
export interface AskDeps {
  readonly clients: LakehouseClients;
  readonly registry: ProviderRegistry;
  readonly maxPromptBytes: number;
  /** Lists every dataset name; the service narrows it to the caller's grants. */
  readonly granted: (names: string[]) => string[];
}

const SYSTEM_PROMPT = [
  "You translate a question into exactly one DuckDB SQL SELECT statement.",
  "Use only the tables and columns listed; table names are dataset names.",
  "Quote identifiers with double quotes when they are not plain lower-case words.",
  "Answer with the SQL statement only: no explanation, no Markdown.",
].join(" ");

/**
 * Turns a question into SQL: the model sees the schemas of the datasets the
 * caller may read, queryd's EXPLAIN checks the answer, and one repair turn
 * shows the model DuckDB's error. The SQL runs (at most {@link ASK_MAX_ROWS}
 * rows) only when asked and validated.
 *
 * @throws FAILED_PRECONDITION when the provider generates no text.
 */
export async function askQuestion(
  deps: AskDeps,
  request: AskRequest,
  signal: AbortSignal,
): Promise<AskAnswer> {
  const target = deps.registry.resolve(request.provider, request.model, "generate");
  if (target.provider.kind === "builtin") throw generationUnavailable();
  const datasets = await promptDatasets(deps, request.datasets, signal);
  const messages: ChatMessage[] = [
    { role: "system", content: SYSTEM_PROMPT },
    {
      role: "user",
      content: truncateUtf8(
        `Tables:\n${datasets.map(describeDataset).join("\n")}\n\nQuestion: ${request.question}`,
        deps.maxPromptBytes,
      ),
    },
  ];
  let sql = await generateSql(target, messages, signal);
  let error = await explainError(deps.clients, sql, signal);
  if (error !== "") {
    messages.push(
      { role: "assistant", content: sql },
      {
        role: "user",
        content: truncateUtf8(
          `DuckDB refused that statement: ${error}\nAnswer with the corrected SQL statement only.`,
          deps.maxPromptBytes,
        ),
      },
    );
    sql = await generateSql(target, messages, signal);
    error = await explainError(deps.clients, sql, signal);
  }
  const jsonRows: string[] = [];
  if (request.execute && error === "") {
    await forEachJsonRow(deps.clients.query, { sql, maxRows: ASK_MAX_ROWS }, signal, (_, text) => {
      jsonRows.push(text);
    });
  }
  return { sql, validated: error === "", validationError: error, jsonRows };
}

/** The named datasets, or every dataset the caller may read that is not a search index. */
async function promptDatasets(
  deps: AskDeps,
  named: string[],
  signal: AbortSignal,
): Promise<Dataset[]> {
  const { catalog } = deps.clients;
  if (named.length > 0) {
    const found = await Promise.all(
      deps.granted(named).map((name) => catalog.getDataset({ name }, { signal })),
    );
    return found.flatMap((answer) => (answer.dataset ? [answer.dataset] : []));
  }
  const all: Dataset[] = [];
  let pageToken = "";
  do {
    const page = await catalog.listDatasets({ pageSize: 1000, pageToken }, { signal });
    all.push(...page.datasets);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && all.length < 10_000);
  const granted = new Set(deps.granted(all.map((dataset) => dataset.name)));
  const readable = all.filter(
    (dataset) =>
      granted.has(dataset.name) &&
      !(dataset.snapshot?.message ?? "").startsWith("lakehouse search index "),
  );
  if (readable.length === 0) {
    throw serviceError(
      Code.FailedPrecondition,
      "NO_DATASETS",
      "there are no datasets the caller may read to ask about",
    );
  }
  return readable.slice(0, MAX_PROMPT_DATASETS);
}

function describeDataset(dataset: Dataset): string {
  const fields = dataset.snapshot?.schema?.fields ?? [];
  const columns = fields.map((field) => `  "${field.name}" ${field.type}`).join(",\n");
  const description = dataset.description === "" ? "" : ` -- ${dataset.description}`;
  return `TABLE ${dataset.name} (${description}\n${columns}\n)`;
}

/** Runs a generation to the end and keeps the statement out of the answer. */
async function generateSql(
  target: ResolvedModel,
  messages: ChatMessage[],
  signal: AbortSignal,
): Promise<string> {
  let text = "";
  for await (const event of target.provider.generate(
    { model: target.model, messages, maxTokens: SQL_TOKENS, temperature: 0 },
    signal,
  )) {
    if ("text" in event) text += event.text;
  }
  return extractSql(text);
}

/** The SQL in a model's answer: inside a Markdown fence if there is one, one statement. */
export function extractSql(answer: string): string {
  const fenced = /```(?:sql)?\s*([\s\S]*?)```/i.exec(answer);
  const body = (fenced?.[1] ?? answer).trim();
  const end = body.indexOf(";");
  return (end >= 0 ? body.slice(0, end) : body).trim();
}

/** DuckDB's objection to a statement through queryd's EXPLAIN, or "" when it has none. */
async function explainError(
  clients: LakehouseClients,
  sql: string,
  signal: AbortSignal,
): Promise<string> {
  if (sql === "") return "the model answered no SQL";
  try {
    await clients.query.explainQuery({ sql }, { signal });
    return "";
  } catch (error) {
    const connectError = ConnectError.from(error);
    const refusal = [
      Code.InvalidArgument,
      Code.NotFound,
      Code.PermissionDenied,
      Code.FailedPrecondition,
    ];
    if (!refusal.includes(connectError.code)) throw error;
    return connectError.rawMessage;
  }
}
