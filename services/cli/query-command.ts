import { type Command, Option } from "commander";
import {
  type ExecuteQueryResponse,
  LimitBehavior,
  ResultFormat,
} from "../../gen/lakehouse/query/v1/query_pb.js";
import type { CliContext } from "./cli-context.js";
import { UsageError } from "./cli-errors.js";
import { collect, parseRowCount } from "./cli-options.js";
import { parseQueryParameters } from "./query-parameters.js";
import {
  QUERY_FORMATS,
  type QueryFormat,
  summaryLine,
  truncationWarning,
  writeArrowStream,
  writeCsv,
  writeJsonRows,
  writeTable,
} from "./query-results.js";
import { examples } from "./rendering.js";
import { SQL_ARGUMENT_HELP, sqlFromArgument } from "./sql-argument.js";

const PARAM_HELP =
  "bind a value: NAME=VALUE for $NAME, VALUE for the next ?; null, true/false, numbers " +
  "and '\"quoted text\"' are typed, anything else is text (repeatable)";

/** `lakehouse query "<sql>"`: runs one SELECT and prints its rows. */
export function registerQueryCommand(program: Command, context: CliContext): void {
  program
    .command("query")
    .description("run one SELECT over the catalog's datasets and print the rows")
    .argument("<sql>", `${SQL_ARGUMENT_HELP}; table names are dataset names`)
    .addOption(
      new Option(
        "--format <format>",
        "table (default on a terminal), json (NDJSON, the default otherwise), csv, or arrow (raw Arrow IPC stream)",
      ).choices(QUERY_FORMATS),
    )
    .option("--max-rows <n>", "return at most N rows (the server's limit caps it)", parseRowCount)
    .option(
      "--fail-on-limit",
      "fail (exit 1, resource_exhausted) instead of printing a result cut at --max-rows or the server's row or byte limit",
    )
    .option("--param <value>", PARAM_HELP, collect)
    .addHelpText(
      "after",
      examples([
        `lakehouse query "SELECT region, sum(amount) FROM sales GROUP BY region"`,
        `lakehouse query "SELECT * FROM sales WHERE id = ?" --param 42`,
        `lakehouse query 'SELECT * FROM sales WHERE region = $r' --param r=north --format csv`,
        `lakehouse query "SELECT * FROM sales AT (VERSION => 2)" --format json --max-rows 10`,
        `lakehouse query "SELECT * FROM sales" --format arrow > sales.arrows`,
        `lakehouse query - --format csv < report.sql`,
      ]),
    )
    .action(
      async (
        argument: string,
        options: {
          format?: QueryFormat;
          maxRows?: bigint;
          param?: string[];
          failOnLimit?: boolean;
        },
        command: Command,
      ) => {
        const format = options.format ?? (context.stdout.isTTY ? "table" : "json");
        if (format === "arrow" && context.stdout.isTTY) {
          throw new UsageError("--format arrow writes binary; redirect stdout to a file or a pipe");
        }
        const parameters = parseQueryParameters(options.param ?? []);
        const sql = await sqlFromArgument(argument, context);
        const gateway = await context.connect(command);
        const responses: AsyncIterable<ExecuteQueryResponse> = gateway.query.executeQuery(
          {
            sql,
            parameters,
            format: format === "json" ? ResultFormat.JSON : ResultFormat.ARROW_IPC,
            maxRows: options.maxRows ?? 0n,
            onLimit: options.failOnLimit ? LimitBehavior.FAIL : LimitBehavior.UNSPECIFIED,
          },
          gateway.callOptions(),
        );
        const writers = {
          table: writeTable,
          json: writeJsonRows,
          csv: writeCsv,
          arrow: writeArrowStream,
        } as const;
        const summary = await writers[format](responses, context.stdout);
        if (summary === undefined) return;
        // A script reads stdout; a cut result must still be told on stderr.
        if (context.stderr.isTTY) await context.stderr.write(summaryLine(summary));
        else if (summary.truncated) await context.stderr.write(truncationWarning(summary));
      },
    );
}
