import type { Command } from "commander";
import { FieldSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import type { CliContext } from "./cli-context.js";
import { parseVersion } from "./cli-options.js";
import { examples, protoJson, writeJson } from "./rendering.js";
import { renderTable } from "./text-table.js";

/** `lakehouse schema <dataset>`: the columns of the latest or a given snapshot. */
export function registerSchemaCommand(program: Command, context: CliContext): void {
  program
    .command("schema")
    .description("show the columns of a dataset (its latest snapshot, or --version N)")
    .argument("<dataset>", "dataset name")
    .option("--version <n>", "snapshot version (default: the latest)", parseVersion)
    .addHelpText(
      "after",
      examples([
        "lakehouse schema sales",
        "lakehouse schema sales --version 2",
        "lakehouse schema sales --json",
      ]),
    )
    .action(async (name: string, options: { version?: bigint }, command: Command) => {
      const gateway = await context.connect(command);
      const { dataset } = await gateway.catalog.getDataset(
        { name, version: options.version ?? 0n },
        gateway.callOptions(),
      );
      const snapshot = dataset?.snapshot;
      const fields = snapshot?.schema?.fields ?? [];
      if (context.globals(command).json) {
        await writeJson(context.stdout, {
          dataset: name,
          version: String(snapshot?.version ?? 0n),
          schemaFingerprint: snapshot?.schemaFingerprint ?? "",
          fields: fields.map((field) => protoJson(FieldSchema, field)),
        });
        return;
      }
      await context.stdout.write(
        renderTable(
          [{ header: "COLUMN" }, { header: "TYPE" }, { header: "NULLABLE" }],
          fields.map((field) => [field.name, field.type, field.nullable ? "yes" : "no"]),
        ),
      );
    });
}
