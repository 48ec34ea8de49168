import type { Command } from "commander";
import { AskQuestionResponseSchema } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { addModelOptions, type ModelOptions } from "./ai-options.js";
import type { CliContext } from "./cli-context.js";
import { collect } from "./cli-options.js";
import { examples, protoJson, writeJson } from "./rendering.js";

/**
 * `lakehouse ask "<question>"`: SQL for a question in English (AskQuestion),
 * checked with EXPLAIN, and its rows with `--execute`.
 */
export function registerAskCommand(program: Command, context: CliContext): void {
  addModelOptions(
    program
      .command("ask")
      .description(
        "turn a question in English into SQL over your datasets (needs a generating model)",
      )
      .argument("<question>", "the question")
      .option(
        "--dataset <name>",
        "only these datasets (repeatable; default: all you may read)",
        collect,
      )
      .option("--execute", "also run the SQL and print its rows as NDJSON"),
  )
    .addHelpText(
      "after",
      examples([
        `lakehouse ask "total sales per region last month" --provider ollama`,
        `lakehouse ask "how many trips ended in Brooklyn?" --dataset trips --execute`,
      ]),
    )
    .action(
      async (
        question: string,
        options: ModelOptions & { dataset?: string[]; execute?: boolean },
        command: Command,
      ) => {
        const gateway = await context.connect(command);
        const response = await gateway.ai.askQuestion(
          {
            question,
            datasets: options.dataset ?? [],
            execute: options.execute === true,
            provider: options.provider ?? "",
            model: options.model ?? "",
          },
          gateway.callOptions(),
        );
        if (context.globals(command).json) {
          await writeJson(context.stdout, protoJson(AskQuestionResponseSchema, response));
          return;
        }
        await context.stdout.write(`${response.sql};\n`);
        await context.stdout.write(
          response.validated
            ? "-- validated with EXPLAIN\n"
            : `-- not validated: ${response.validationError.replaceAll("\n", " ")}\n`,
        );
        for (const row of response.jsonRows) await context.stdout.write(`${row}\n`);
      },
    );
}
