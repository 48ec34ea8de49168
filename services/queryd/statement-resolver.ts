import { Code } from "@connectrpc/connect";
import { canonicalDatasetName } from "../catalogd/dataset-name.js";
import { serviceError } from "../kit/errors.js";
import { checkFunctionAllowed } from "./function-policy.js";
import {
  cloneLosslessJson,
  isJsonObject,
  JsonNumber,
  type JsonObject,
  type LosslessJson,
} from "./lossless-json.js";

/** One place a statement reads a dataset: `FROM name [AT (VERSION => n)]`. */
export interface DatasetReference {
  /** The dataset's canonical name: in lower case, however the statement spells it. */
  readonly name: string;
  /** The pinned version, or undefined for the latest. */
  readonly version: bigint | undefined;
  /** The statement's table node, replaced in place by {@link bindDatasetReferences}. */
  readonly node: JsonObject;
}

/** Table node kinds a query may contain; everything else (table functions above all) is refused. */
const ALLOWED_TABLE_REFS = new Set([
  "BASE_TABLE",
  "JOIN",
  "SUBQUERY",
  "EXPRESSION_LIST",
  "EMPTY",
  "PIVOT",
  "SHOW_REF",
]);

/** A table name that is really a file path or URL DuckDB would scan by itself. */
const PATH_LIKE = /[/\\:.~]/;

/**
 * Finds every dataset a parsed SELECT statement reads and refuses what a
 * query may not do: table functions, file paths or URLs in FROM, qualified
 * names, denied functions. Names bound by a WITH clause are the statement's
 * own and are not datasets; their scope is DuckDB's (a CTE sees the ones
 * before it, and itself only when recursive).
 *
 * @throws PERMISSION_DENIED: TABLE_FUNCTION_NOT_ALLOWED, FILE_ACCESS_NOT_ALLOWED,
 * FUNCTION_NOT_ALLOWED, TABLE_REF_NOT_ALLOWED; INVALID_ARGUMENT: INVALID_DATASET_NAME,
 * QUALIFIED_NAME, INVALID_VERSION.
 */
export function findDatasetReferences(ast: JsonObject): DatasetReference[] {
  const references: DatasetReference[] = [];
  const visit = (value: LosslessJson | undefined, scope: ReadonlySet<string>): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, scope);
      return;
    }
    if (!isJsonObject(value)) return;
    let inner = scope;
    const cteMap = value.cte_map;
    if (isJsonObject(cteMap) && Array.isArray(cteMap.map)) {
      const names = new Set(scope);
      for (const entry of cteMap.map) {
        if (!isJsonObject(entry) || typeof entry.key !== "string") continue;
        const name = entry.key.toLowerCase();
        const body = isJsonObject(entry.value) ? entry.value : undefined;
        visit(body, isRecursive(body) ? new Set([...names, name]) : names);
        names.add(name);
      }
      inner = names;
    }
    if (isTableRef(value)) checkTableRef(value, inner, references);
    if (typeof value.function_name === "string") checkFunctionAllowed(value.function_name);
    for (const [key, child] of Object.entries(value)) {
      if (key !== "cte_map") visit(child, inner);
    }
  };
  visit(ast, new Set());
  return references;
}

/**
 * Replaces each reference's table node with `fragment(reference)` (a table
 * node that reads the dataset's files), keeping the alias the statement uses
 * (or the dataset name), column aliases and any TABLESAMPLE.
 */
export function bindDatasetReferences(
  references: readonly DatasetReference[],
  fragment: (reference: DatasetReference) => JsonObject,
): void {
  for (const reference of references) {
    const { node } = reference;
    const replacement = cloneLosslessJson(fragment(reference));
    const alias = typeof node.alias === "string" && node.alias !== "" ? node.alias : reference.name;
    replacement.alias = alias;
    replacement.column_name_alias = node.column_name_alias ?? [];
    replacement.sample = node.sample ?? null;
    for (const key of Object.keys(node)) delete node[key];
    Object.assign(node, replacement);
  }
}

/**
 * Table functions that only compute rows from their arguments (which are
 * still checked like any expression): no file, setting or catalog access.
 */
const GENERATOR_TABLE_FUNCTIONS = new Set(["range", "generate_series", "unnest"]);

function isTableRef(value: JsonObject): boolean {
  return (
    typeof value.type === "string" && !("class" in value) && "sample" in value && "alias" in value
  );
}

function isRecursive(cte: JsonObject | undefined): boolean {
  const query = cte?.query;
  return (
    isJsonObject(query) && isJsonObject(query.node) && query.node.type === "RECURSIVE_CTE_NODE"
  );
}

function checkTableRef(
  node: JsonObject,
  scope: ReadonlySet<string>,
  references: DatasetReference[],
): void {
  const type = String(node.type);
  if (type === "TABLE_FUNCTION") {
    const call = isJsonObject(node.function) ? node.function.function_name : undefined;
    if (typeof call === "string" && GENERATOR_TABLE_FUNCTIONS.has(call.toLowerCase())) return;
    throw serviceError(
      Code.PermissionDenied,
      "TABLE_FUNCTION_NOT_ALLOWED",
      `table function ${typeof call === "string" ? call : ""} is not allowed: queries read only catalog datasets`,
      { function: typeof call === "string" ? call : "" },
    );
  }
  if (!ALLOWED_TABLE_REFS.has(type) || (type === "SHOW_REF" && node.table_name !== "")) {
    throw serviceError(
      Code.PermissionDenied,
      "TABLE_REF_NOT_ALLOWED",
      `${type} is not allowed in a query`,
    );
  }
  if (type !== "BASE_TABLE") return;
  const name = typeof node.table_name === "string" ? node.table_name : "";
  const qualified = node.schema_name !== "" || node.catalog_name !== "";
  if (!qualified && scope.has(name.toLowerCase())) {
    if (node.at_clause !== null && node.at_clause !== undefined) {
      throw serviceError(
        Code.InvalidArgument,
        "INVALID_VERSION",
        `AT (VERSION => ...) applies to datasets, not to ${name}`,
      );
    }
    return;
  }
  if (PATH_LIKE.test(name)) {
    throw serviceError(
      Code.PermissionDenied,
      "FILE_ACCESS_NOT_ALLOWED",
      "queries read catalog datasets by name, never files or URLs",
      { table: name.slice(0, 200) },
    );
  }
  if (qualified) {
    throw serviceError(
      Code.InvalidArgument,
      "QUALIFIED_NAME",
      `dataset names are not qualified: ${name}`,
      {
        table: name,
      },
    );
  }
  references.push({
    name: canonicalDatasetName(name),
    version: pinnedVersion(node.at_clause, name),
    node,
  });
}

function pinnedVersion(clause: LosslessJson | undefined, name: string): bigint | undefined {
  if (clause === null || clause === undefined) return undefined;
  const invalid = () =>
    serviceError(
      Code.InvalidArgument,
      "INVALID_VERSION",
      `${name}: only AT (VERSION => n) with a literal version of 1 or more is supported`,
      { dataset: name },
    );
  if (!isJsonObject(clause) || clause.unit !== "VERSION" || !isJsonObject(clause.expr))
    throw invalid();
  const constant = clause.expr.value;
  const literal = isJsonObject(constant) ? constant.value : undefined;
  if (
    clause.expr.class !== "CONSTANT" ||
    !(literal instanceof JsonNumber) ||
    !/^\d+$/.test(literal.text)
  ) {
    throw invalid();
  }
  const version = BigInt(literal.text);
  if (version < 1n) throw invalid();
  return version;
}
