import type { Command } from "commander";
import {
  type DiffSnapshotsResponse,
  DiffSnapshotsResponseSchema,
} from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import type { CliContext } from "./cli-context.js";
import { parseVersion } from "./cli-options.js";
import { examples, protoJson, writeJson } from "./rendering.js";

/**
 * The text form of a diff, one change per line in the manner of `diff`:
 * `+` added, `-` removed, `~` changed, columns before files.
 */
export function describeDiff(diff: DiffSnapshotsResponse): string {
  const lines = [`from ${diff.fromVersion} to ${diff.toVersion}`];
  for (const field of diff.addedColumns) lines.push(`+ column ${field.name} ${field.type}`);
  for (const field of diff.removedColumns) lines.push(`- column ${field.name} ${field.type}`);
  for (const change of diff.changedColumns) {
    const nullability = (nullable: boolean | undefined) => (nullable ? "" : " NOT NULL");
    lines.push(
      `~ column ${change.name} ${change.from?.type ?? ""}${nullability(change.from?.nullable)}` +
        ` -> ${change.to?.type ?? ""}${nullability(change.to?.nullable)}`,
    );
  }
  for (const file of diff.addedFiles) lines.push(`+ file ${file.key} (${file.rowCount} rows)`);
  for (const file of diff.removedFiles) lines.push(`- file ${file.key} (${file.rowCount} rows)`);
  return `${lines.join("\n")}\n`;
}

/** `lakehouse diff <dataset> <from> [to]`: what changed between two snapshots. */
export function registerDiffCommand(program: Command, context: CliContext): void {
  program
    .command("diff")
    .description("compare two snapshots of a dataset: columns and files added, removed, changed")
    .argument("<dataset>", "dataset name")
    .argument("<from>", "the older version", parseVersion)
    .argument("[to]", "the newer version (default: the latest)", parseVersion)
    .addHelpText("after", examples(["lakehouse diff sales 1", "lakehouse diff sales 1 3 --json"]))
    .action(
      async (
        dataset: string,
        from: bigint,
        to: bigint | undefined,
        _options: unknown,
        command: Command,
      ) => {
        const gateway = await context.connect(command);
        const diff = await gateway.catalog.diffSnapshots(
          { dataset, fromVersion: from, toVersion: to ?? 0n },
          gateway.callOptions(),
        );
        if (context.globals(command).json) {
          await writeJson(context.stdout, protoJson(DiffSnapshotsResponseSchema, diff));
          return;
        }
        await context.stdout.write(describeDiff(diff));
      },
    );
}
