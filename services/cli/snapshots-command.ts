import type { Command } from "commander";
import { SnapshotSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import type { CliContext } from "./cli-context.js";
import { collectPages } from "./list-pages.js";
import { examples, protoJson, timestampText, writeJson } from "./rendering.js";
import { renderTable } from "./text-table.js";

/** `lakehouse snapshots <dataset>`: the version history, newest first. */
export function registerSnapshotsCommand(program: Command, context: CliContext): void {
  program
    .command("snapshots")
    .description("list the snapshots (versions) of a dataset, newest first")
    .argument("<dataset>", "dataset name")
    .addHelpText(
      "after",
      examples(["lakehouse snapshots sales", "lakehouse snapshots sales --json"]),
    )
    .action(async (dataset: string, _options: unknown, command: Command) => {
      const gateway = await context.connect(command);
      const snapshots = await collectPages(async (pageToken) => {
        const page = await gateway.catalog.listSnapshots(
          { dataset, pageSize: 1000, pageToken },
          gateway.callOptions(),
        );
        return { items: page.snapshots, nextPageToken: page.nextPageToken };
      });
      if (context.globals(command).json) {
        await writeJson(
          context.stdout,
          snapshots.map((snapshot) => protoJson(SnapshotSchema, snapshot)),
        );
        return;
      }
      const rows = snapshots.map((snapshot) => [
        String(snapshot.version),
        String(snapshot.parentVersion),
        timestampText(snapshot.commitTime),
        snapshot.author,
        String(snapshot.rowCount),
        String(snapshot.fileCount),
        String(snapshot.size),
        snapshot.message,
      ]);
      await context.stdout.write(
        renderTable(
          [
            { header: "VERSION", align: "right" },
            { header: "PARENT", align: "right" },
            { header: "COMMITTED" },
            { header: "AUTHOR" },
            { header: "ROWS", align: "right" },
            { header: "FILES", align: "right" },
            { header: "BYTES", align: "right" },
            { header: "MESSAGE" },
          ],
          rows,
        ),
      );
    });
}
