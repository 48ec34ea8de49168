import { isJsonObject, type JsonObject, type LosslessJson } from "./lossless-json.js";

/** How DuckDB renders a one-expression statement: the expression's text follows this. */
const SELECT_PREFIX = "SELECT ";

/**
 * Gives each unaliased select-list expression that reads a table (through a
 * subquery) an explicit alias: the name DuckDB derives from the expression as
 * written. DuckDB names such a column after the expression's text, so once
 * table names are rewritten to file scans the derived name would change and
 * expose the scan; the alias keeps the name the user's own statement has.
 * Every select list is covered, not only the outermost: names of inner
 * queries surface through `*`, CTEs and set operations (UNION BY NAME).
 *
 * `render` turns a statement AST into SQL text ({@link renderStatement});
 * names are all derived from the unedited tree before any alias is set.
 */
export async function pinColumnNames(
  ast: JsonObject,
  render: (statement: JsonObject) => Promise<string>,
): Promise<void> {
  const expressions = unnamedTableReaders(ast);
  const names: string[] = [];
  for (const expression of expressions) {
    const text = await render(oneExpressionStatement(expression));
    if (!text.startsWith(SELECT_PREFIX)) throw new Error(`unexpected rendering: ${text}`);
    names.push(text.slice(SELECT_PREFIX.length));
  }
  for (const [index, expression] of expressions.entries()) {
    expression.alias = names[index] ?? "";
  }
}

/** Select-list expressions without an alias whose subtree holds a table name. */
function unnamedTableReaders(ast: JsonObject): JsonObject[] {
  const found: JsonObject[] = [];
  const visit = (value: LosslessJson | undefined): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (!isJsonObject(value)) return;
    if (value.type === "SELECT_NODE" && Array.isArray(value.select_list)) {
      for (const expression of value.select_list) {
        if (
          isJsonObject(expression) &&
          expression.alias === "" &&
          expression.class !== "STAR" &&
          readsTable(expression)
        ) {
          found.push(expression);
        }
      }
    }
    for (const child of Object.values(value)) visit(child);
  };
  visit(ast);
  return found;
}

function readsTable(value: LosslessJson | undefined): boolean {
  if (Array.isArray(value)) return value.some(readsTable);
  if (!isJsonObject(value)) return false;
  if (value.type === "BASE_TABLE" && !("class" in value)) return true;
  return Object.values(value).some(readsTable);
}

/** `SELECT <expression>`, as a statement AST of its own. */
function oneExpressionStatement(expression: JsonObject): JsonObject {
  const node: JsonObject = {
    type: "SELECT_NODE",
    modifiers: [],
    cte_map: { map: [] },
    select_list: [expression],
    from_table: { type: "EMPTY", alias: "", sample: null },
    where_clause: null,
    group_expressions: [],
    group_sets: [],
    aggregate_handling: "STANDARD_HANDLING",
    having: null,
    sample: null,
    qualify: null,
  };
  return { error: false, statements: [{ node, named_param_map: [] }] };
}
