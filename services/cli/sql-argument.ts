import type { CliContext } from "./cli-context.js";
import { UsageError } from "./cli-errors.js";

/** The `<sql>` argument's help: `-` reads the statement from standard input. */
export const SQL_ARGUMENT_HELP =
  "one SELECT statement; - reads it from standard input (a file, a here-document)";

/**
 * The statement a `<sql>` argument names: itself, or for `-` all of standard
 * input, so long or multi-line SQL needs no shell quoting and no argument-size limit.
 *
 * @throws UsageError when standard input holds no statement.
 */
export async function sqlFromArgument(argument: string, context: CliContext): Promise<string> {
  if (argument !== "-") return argument;
  const sql = await context.readStdin();
  if (sql.trim() === "") throw new UsageError("no SQL on standard input");
  return sql;
}
