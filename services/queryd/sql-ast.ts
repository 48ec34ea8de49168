import { Code } from "@connectrpc/connect";
import type { DuckDBConnection } from "@duckdb/node-api";
import { serviceError } from "../kit/errors.js";
import { pinColumnNames } from "./column-names.js";
import { duckdbCall } from "./duckdb-errors.js";
import {
  isJsonObject,
  type JsonObject,
  parseLosslessJson,
  stringifyLosslessJson,
} from "./lossless-json.js";

/** The largest statement accepted, as the contract says. */
export const MAX_SQL_BYTES = 1024 * 1024;

/**
 * Statements that would reach outside the sandbox (files, extensions,
 * databases, settings): refused as PERMISSION_DENIED rather than merely
 * "not a query", so a caller sees that the attempt itself is not allowed.
 */
const SANDBOX_KEYWORDS = new Set([
  "ATTACH",
  "DETACH",
  "INSTALL",
  "LOAD",
  "FORCE",
  "SET",
  "RESET",
  "PRAGMA",
  "COPY",
  "EXPORT",
  "IMPORT",
  "USE",
  "CALL",
  "CHECKPOINT",
]);

/**
 * Parses one SQL statement into DuckDB's AST (via `json_serialize_sql`,
 * which runs nothing) with 64-bit numbers kept exact. Select-list
 * expressions that read a table carry the column name DuckDB derives from
 * them as an explicit alias ({@link pinColumnNames}), so rewriting table
 * names later leaves the result's column names as written.
 *
 * @throws INVALID_ARGUMENT: EMPTY_STATEMENT, STATEMENT_TOO_LARGE,
 * SYNTAX_ERROR, MULTIPLE_STATEMENTS, NOT_A_QUERY;
 * PERMISSION_DENIED (STATEMENT_NOT_ALLOWED) for statements that reach
 * outside the sandbox (COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, ...).
 */
export async function parseStatement(
  connection: DuckDBConnection,
  sql: string,
): Promise<JsonObject> {
  if (sql.trim() === "") {
    throw serviceError(Code.InvalidArgument, "EMPTY_STATEMENT", "sql is required");
  }
  if (Buffer.byteLength(sql, "utf8") > MAX_SQL_BYTES) {
    throw serviceError(
      Code.InvalidArgument,
      "STATEMENT_TOO_LARGE",
      `sql is larger than ${MAX_SQL_BYTES} bytes`,
    );
  }
  const extracted = await duckdbCall(() => connection.extractStatements(sql));
  if (extracted.count > 1) {
    // DuckDB expands a PIVOT without an IN list into a statement that first
    // collects the pivot values, then the query.
    const pivot = /\bPIVOT\b/i.test(sql)
      ? ": a PIVOT needs its values listed here (PIVOT t ON col IN ('a', 'b') USING ...)"
      : "";
    throw serviceError(
      Code.InvalidArgument,
      "MULTIPLE_STATEMENTS",
      `exactly one statement is allowed${pivot}`,
    );
  }
  if (extracted.count === 0) {
    throw serviceError(Code.InvalidArgument, "EMPTY_STATEMENT", "sql holds no statement");
  }
  const parsed = await serialize(connection, sql);
  if (parsed.error === true) throw refusal(sql, parsed);
  const statements = parsed.statements;
  if (!Array.isArray(statements) || statements.length !== 1 || !isJsonObject(statements[0])) {
    throw serviceError(
      Code.InvalidArgument,
      "MULTIPLE_STATEMENTS",
      "exactly one statement is allowed",
    );
  }
  await pinColumnNames(parsed, (statement) => renderStatement(connection, statement));
  return parsed;
}

/** Renders an AST from {@link parseStatement} (possibly edited) back to SQL text. */
export async function renderStatement(
  connection: DuckDBConnection,
  ast: JsonObject,
): Promise<string> {
  const reader = await duckdbCall(() =>
    connection.runAndReadAll("SELECT json_deserialize_sql($1::JSON)", [stringifyLosslessJson(ast)]),
  );
  return String(reader.getRows()[0]?.[0]);
}

/**
 * The table node of `SELECT * FROM <fromClause>`: how the engine builds the
 * nodes that bind dataset names to files, from SQL it writes itself.
 */
export async function tableFragment(
  connection: DuckDBConnection,
  fromClause: string,
): Promise<JsonObject> {
  const parsed = await serialize(connection, `SELECT * FROM ${fromClause}`);
  const statements = parsed.statements;
  const node =
    Array.isArray(statements) && isJsonObject(statements[0]) ? statements[0].node : undefined;
  const table = isJsonObject(node) ? node.from_table : undefined;
  if (!isJsonObject(table))
    throw new Error(`cannot build a table fragment: ${String(parsed.error_message)}`);
  return table;
}

async function serialize(connection: DuckDBConnection, sql: string): Promise<JsonObject> {
  const reader = await duckdbCall(() =>
    connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]),
  );
  const parsed = parseLosslessJson(String(reader.getRows()[0]?.[0]));
  if (!isJsonObject(parsed)) throw new Error("json_serialize_sql returned no object");
  return parsed;
}

function refusal(sql: string, parsed: JsonObject) {
  const message = typeof parsed.error_message === "string" ? parsed.error_message : "cannot parse";
  if (parsed.error_type === "parser") {
    return serviceError(Code.InvalidArgument, "SYNTAX_ERROR", `Parser Error: ${message}`);
  }
  if (message.startsWith("Only SELECT statements")) {
    const keyword = leadingKeywords(sql);
    if (
      SANDBOX_KEYWORDS.has(keyword[0] ?? "") ||
      isSecretStatement(keyword) ||
      isExtensionUpdate(keyword)
    ) {
      return serviceError(
        Code.PermissionDenied,
        "STATEMENT_NOT_ALLOWED",
        `${keyword[0]} statements are not allowed: only SELECT statements run`,
        { statement: keyword[0] ?? "" },
      );
    }
    return serviceError(Code.InvalidArgument, "NOT_A_QUERY", "only SELECT statements run", {
      statement: keyword[0] ?? "",
    });
  }
  return serviceError(Code.InvalidArgument, "INVALID_QUERY", message);
}

/** The first few words of a statement, upper-cased, after comments and parentheses. */
function leadingKeywords(sql: string): string[] {
  const text = sql
    .replace(/--[^\n]*/g, " ")
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/[()]/g, " ");
  return text
    .trim()
    .split(/\s+/)
    .slice(0, 6)
    .map((word) => word.toUpperCase());
}

function isSecretStatement(words: string[]): boolean {
  return (words[0] === "CREATE" || words[0] === "DROP") && words.includes("SECRET");
}

function isExtensionUpdate(words: string[]): boolean {
  return words[0] === "UPDATE" && words[1] === "EXTENSIONS";
}
