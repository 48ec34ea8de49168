import type { Command } from "commander";
import { type Dataset, DatasetSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import type { CliContext } from "./cli-context.js";
import { parseVersion } from "./cli-options.js";
import { examples, keyValueLines, protoJson, timestampText, writeJson } from "./rendering.js";
import { renderTable } from "./text-table.js";

/** The text form of `show`: the dataset, its snapshot, then columns and files as tables. */
export function describeDataset(dataset: Dataset): string {
  const snapshot = dataset.snapshot;
  const details: [string, string][] = [
    ["dataset", dataset.name],
    ["description", dataset.description],
    ["created", timestampText(dataset.createTime)],
    ["latest", String(dataset.latestVersion)],
  ];
  if (snapshot === undefined) return keyValueLines([...details, ["version", "0"]]);
  details.push(
    ["version", String(snapshot.version)],
    ["parent", String(snapshot.parentVersion)],
    ["committed", timestampText(snapshot.commitTime)],
    ["author", snapshot.author],
    ["message", snapshot.message],
    ["rows", String(snapshot.rowCount)],
    ["files", String(snapshot.fileCount)],
    ["bytes", String(snapshot.size)],
    ["fingerprint", snapshot.schemaFingerprint],
  );
  const stats = new Map(snapshot.columnStats.map((stat) => [stat.column, stat]));
  const columns = renderTable(
    [
      { header: "COLUMN" },
      { header: "TYPE" },
      { header: "NULLABLE" },
      { header: "MIN" },
      { header: "MAX" },
      { header: "NULLS", align: "right" },
    ],
    (snapshot.schema?.fields ?? []).map((field) => {
      const stat = stats.get(field.name);
      const nulls = stat === undefined || stat.nullCount < 0n ? "" : String(stat.nullCount);
      return [
        field.name,
        field.type,
        field.nullable ? "yes" : "no",
        stat?.min ?? "",
        stat?.max ?? "",
        nulls,
      ];
    }),
  );
  const files = renderTable(
    [
      { header: "FILE" },
      { header: "ROWS", align: "right" },
      { header: "BYTES", align: "right" },
      { header: "SHA256" },
    ],
    snapshot.files.map((file) => [file.key, String(file.rowCount), String(file.size), file.sha256]),
  );
  return `${keyValueLines(details)}\n${columns}\n${files}`;
}

/** `lakehouse show <dataset>`: everything the catalog knows of one snapshot. */
export function registerShowCommand(program: Command, context: CliContext): void {
  program
    .command("show")
    .description("show a dataset and one snapshot in detail: columns with statistics, files")
    .argument("<dataset>", "dataset name")
    .option("--version <n>", "snapshot version (default: the latest)", parseVersion)
    .addHelpText(
      "after",
      examples(["lakehouse show sales", "lakehouse show sales --version 1 --json"]),
    )
    .action(async (name: string, options: { version?: bigint }, command: Command) => {
      const gateway = await context.connect(command);
      const { dataset } = await gateway.catalog.getDataset(
        { name, version: options.version ?? 0n },
        gateway.callOptions(),
      );
      if (dataset === undefined) throw new Error("GetDataset answered without a dataset");
      if (context.globals(command).json) {
        await writeJson(context.stdout, protoJson(DatasetSchema, dataset));
        return;
      }
      await context.stdout.write(describeDataset(dataset));
    });
}
