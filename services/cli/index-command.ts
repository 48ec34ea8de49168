import type { Command } from "commander";
import { BuildSearchIndexResponseSchema } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { addModelOptions, columnOption, type ModelOptions } from "./ai-options.js";
import type { CliContext } from "./cli-context.js";
import { parseVersion } from "./cli-options.js";
import { examples, keyValueLines, protoJson, writeJson } from "./rendering.js";

/** `lakehouse index <dataset> --column <c>`: builds or refreshes a search index. */
export function registerIndexCommand(program: Command, context: CliContext): void {
  addModelOptions(
    program
      .command("index")
      .description(
        "embed a text column of a dataset snapshot into a search index (BuildSearchIndex)",
      )
      .argument("<dataset>", "the dataset to index")
      .addOption(columnOption("the text column to embed", true))
      .option("--version <n>", "the snapshot to index (default: the latest)", parseVersion),
  )
    .addHelpText(
      "after",
      examples([
        "lakehouse index articles --column body",
        "lakehouse index articles --column body --provider ollama --model nomic-embed-text",
      ]),
    )
    .action(
      async (
        dataset: string,
        options: ModelOptions & { column: string; version?: bigint },
        command: Command,
      ) => {
        const gateway = await context.connect(command);
        const response = await gateway.ai.buildSearchIndex(
          {
            dataset,
            column: options.column,
            version: options.version ?? 0n,
            provider: options.provider ?? "",
            model: options.model ?? "",
          },
          gateway.callOptions(),
        );
        if (context.globals(command).json) {
          await writeJson(context.stdout, protoJson(BuildSearchIndexResponseSchema, response));
          return;
        }
        await context.stdout.write(
          keyValueLines([
            ["source", `${dataset} version ${response.sourceVersion}, column ${options.column}`],
            ["index", `${response.indexDataset} version ${response.indexVersion}`],
            ["embedded", String(response.rowsEmbedded)],
            ["reused", String(response.rowsReused)],
          ]),
        );
      },
    );
}
