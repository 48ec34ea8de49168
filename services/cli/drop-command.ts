import type { Command } from "commander";
import { canonicalDatasetName } from "../catalogd/dataset-name.js";
import type { CliContext } from "./cli-context.js";
import { examples, writeJson } from "./rendering.js";

/** `lakehouse drop <dataset>`: deletes a dataset, its snapshots and its own files. */
export function registerDropCommand(program: Command, context: CliContext): void {
  program
    .command("drop")
    .description("delete a dataset with every snapshot and the data files only it references")
    .argument("<dataset>", "dataset name")
    .addHelpText("after", examples(["lakehouse drop sales_scratch"]))
    .action(async (name: string, _options: unknown, command: Command) => {
      const gateway = await context.connect(command);
      await gateway.catalog.deleteDataset({ name }, gateway.callOptions());
      if (context.globals(command).json) {
        await writeJson(context.stdout, { dataset: canonicalDatasetName(name), dropped: true });
        return;
      }
      await context.stdout.write(`dropped ${canonicalDatasetName(name)}\n`);
    });
}
