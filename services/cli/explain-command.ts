import type { Command } from "commander";
import { ExplainQueryResponseSchema } from "../../gen/lakehouse/query/v1/query_pb.js";
import type { CliContext } from "./cli-context.js";
import { collect } from "./cli-options.js";
import { parseQueryParameters } from "./query-parameters.js";
import { examples, protoJson, writeJson } from "./rendering.js";
import { SQL_ARGUMENT_HELP, sqlFromArgument } from "./sql-argument.js";

/** `lakehouse explain "<sql>"`: DuckDB's plan for a query, without running it. */
export function registerExplainCommand(program: Command, context: CliContext): void {
  program
    .command("explain")
    .description("show DuckDB's physical plan for a SELECT without running it")
    .argument("<sql>", SQL_ARGUMENT_HELP)
    .option("--param <value>", "bind a value, as for query (repeatable)", collect)
    .addHelpText(
      "after",
      examples([
        `lakehouse explain "SELECT region, count(*) FROM sales GROUP BY region"`,
        `lakehouse explain "SELECT * FROM sales WHERE id = ?" --param 1 --json`,
      ]),
    )
    .action(async (argument: string, options: { param?: string[] }, command: Command) => {
      const parameters = parseQueryParameters(options.param ?? []);
      const sql = await sqlFromArgument(argument, context);
      const gateway = await context.connect(command);
      const response = await gateway.query.explainQuery({ sql, parameters }, gateway.callOptions());
      if (context.globals(command).json) {
        await writeJson(context.stdout, protoJson(ExplainQueryResponseSchema, response));
        return;
      }
      await context.stdout.write(
        response.plan.endsWith("\n") ? response.plan : `${response.plan}\n`,
      );
    });
}
