import { type Command, Option } from "commander";
import { ExpireSnapshotsResponseSchema } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { canonicalDatasetName } from "../catalogd/dataset-name.js";
import type { CliContext } from "./cli-context.js";
import { parseRowCount } from "./cli-options.js";
import { examples, keyValueLines, protoJson, writeJson } from "./rendering.js";

/**
 * `lakehouse expire <dataset> --keep-last N`: expires all but the newest N
 * snapshots and reclaims the data files nothing references any more.
 */
export function registerExpireCommand(program: Command, context: CliContext): void {
  program
    .command("expire")
    .description(
      "delete all but the newest snapshots of a dataset, with the data files only they (or none) referenced",
    )
    .argument("<dataset>", "dataset name")
    .addOption(
      new Option("--keep-last <n>", "how many of the newest snapshots to keep (at least 1)")
        .argParser(parseRowCount)
        .makeOptionMandatory(),
    )
    .addHelpText("after", examples(["lakehouse expire sales --keep-last 10"]))
    .action(async (dataset: string, options: { keepLast: bigint }, command: Command) => {
      const gateway = await context.connect(command);
      const response = await gateway.catalog.expireSnapshots(
        { dataset, keepLast: options.keepLast },
        gateway.callOptions(),
      );
      if (context.globals(command).json) {
        await writeJson(context.stdout, protoJson(ExpireSnapshotsResponseSchema, response));
        return;
      }
      await context.stdout.write(
        keyValueLines([
          ["dataset", canonicalDatasetName(dataset)],
          ["expired", expiredText(response.expiredVersions)],
          ["deleted files", String(response.deletedFiles)],
        ]),
      );
    });
}

/** Expired versions are always the oldest ones, one unbroken range: shown as such. */
function expiredText(versions: readonly bigint[]): string {
  const first = versions[0];
  const last = versions[versions.length - 1];
  if (first === undefined || last === undefined) return "none";
  if (first === last) return `1 snapshot (version ${first})`;
  return `${versions.length} snapshots (versions ${first} to ${last})`;
}
