import type { Command } from "commander";
import { DatasetSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import type { CliContext } from "./cli-context.js";
import { collectPages } from "./list-pages.js";
import { examples, protoJson, timestampText, writeJson } from "./rendering.js";
import { renderTable } from "./text-table.js";

/** `lakehouse datasets`: every dataset with its latest snapshot's totals. */
export function registerDatasetsCommand(program: Command, context: CliContext): void {
  program
    .command("datasets")
    .description("list every dataset with its latest version, rows, files and size")
    .addHelpText(
      "after",
      examples(["lakehouse datasets", "lakehouse datasets --json | jq -r '.[].name'"]),
    )
    .action(async (_options: unknown, command: Command) => {
      const gateway = await context.connect(command);
      const datasets = await collectPages(async (pageToken) => {
        const page = await gateway.catalog.listDatasets(
          { pageSize: 1000, pageToken },
          gateway.callOptions(),
        );
        return { items: page.datasets, nextPageToken: page.nextPageToken };
      });
      if (context.globals(command).json) {
        await writeJson(
          context.stdout,
          datasets.map((dataset) => protoJson(DatasetSchema, dataset)),
        );
        return;
      }
      const rows = datasets.map((dataset) => [
        dataset.name,
        String(dataset.latestVersion),
        String(dataset.snapshot?.rowCount ?? 0n),
        String(dataset.snapshot?.fileCount ?? 0n),
        String(dataset.snapshot?.size ?? 0n),
        timestampText(dataset.snapshot?.commitTime ?? dataset.createTime),
      ]);
      await context.stdout.write(
        renderTable(
          [
            { header: "NAME" },
            { header: "VERSION", align: "right" },
            { header: "ROWS", align: "right" },
            { header: "FILES", align: "right" },
            { header: "BYTES", align: "right" },
            { header: "UPDATED" },
          ],
          rows,
        ),
      );
    });
}
