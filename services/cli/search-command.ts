import { type Command, Option } from "commander";
import { SearchMode } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { readIndexInfo, searchIndexDatasetPrefix } from "../aibridge/search-index-name.js";
import type { JsonValue } from "../queryd/result/json-value.js";
import { columnOption, parseCount } from "./ai-options.js";
import { cellText } from "./cell-text.js";
import type { CliContext } from "./cli-context.js";
import { LocalError } from "./cli-errors.js";
import type { GatewayClients } from "./gateway-clients.js";
import { examples } from "./rendering.js";
import { renderTable } from "./text-table.js";

const MODES = { hybrid: SearchMode.HYBRID, vector: SearchMode.VECTOR, lexical: SearchMode.LEXICAL };

/**
 * `lakehouse search <dataset> "<text>"`: the rows closest to a text
 * (SearchDataset). Without `--column`, the one indexed column of the dataset
 * is found in the catalog.
 */
export function registerSearchCommand(program: Command, context: CliContext): void {
  program
    .command("search")
    .description("find the rows of a dataset closest to a text over an indexed column")
    .argument("<dataset>", "the dataset to search")
    .argument("<text>", "what to look for")
    .addOption(
      columnOption("the indexed column (default: the dataset's one indexed column)", false),
    )
    .option("--k <n>", "how many rows (default 10)", parseCount(1000))
    .addOption(
      new Option("--mode <mode>", "how to rank (default hybrid)").choices(Object.keys(MODES)),
    )
    .addOption(
      new Option(
        "--format <format>",
        "table (default on a terminal) or json (NDJSON {score, row}, the default otherwise)",
      ).choices(["table", "json"]),
    )
    .addHelpText(
      "after",
      examples([
        `lakehouse search articles "reset my password"`,
        `lakehouse search articles "reset my password" --column body --k 3 --format json`,
      ]),
    )
    .action(
      async (
        dataset: string,
        text: string,
        options: { column?: string; k?: number; mode?: keyof typeof MODES; format?: string },
        command: Command,
      ) => {
        const gateway = await context.connect(command);
        const column = options.column ?? (await indexedColumn(gateway, dataset));
        const response = await gateway.ai.searchDataset(
          {
            dataset,
            column,
            query: text,
            k: options.k ?? 0,
            mode: MODES[options.mode ?? "hybrid"],
          },
          gateway.callOptions(),
        );
        const hits = response.hits.map((hit) => ({
          score: hit.score,
          row: JSON.parse(hit.rowJson) as Record<string, unknown>,
        }));
        const format = options.format ?? (context.stdout.isTTY ? "table" : "json");
        if (format === "json") {
          for (const hit of hits) await context.stdout.write(`${JSON.stringify(hit)}\n`);
          return;
        }
        const names = [...new Set(hits.flatMap((hit) => Object.keys(hit.row)))];
        const rows = hits.map((hit) => [
          hit.score.toFixed(4),
          ...names.map((name) => cellText(hit.row[name] as JsonValue) ?? "NULL"),
        ]);
        await context.stdout.write(
          renderTable(
            [{ header: "SCORE", align: "right" }, ...names.map((header) => ({ header }))],
            rows,
          ),
        );
      },
    );
}

/**
 * The column of the dataset's search indexes, when there is exactly one.
 * ListDatasets leaves out datasets the caller may not read, so an empty
 * answer does not mean "no index": the dataset itself is asked for first, and
 * its refusal (not granted, not found) is what the user sees.
 *
 * @throws LocalError not_found when the dataset has no index; invalid_argument when it has several.
 */
async function indexedColumn(gateway: GatewayClients, dataset: string): Promise<string> {
  // Dataset names ignore case; aibridge records the source in lower case.
  const source = dataset.toLowerCase();
  const prefix = searchIndexDatasetPrefix(source);
  const columns = new Set<string>();
  let pageToken = "";
  do {
    const page = await gateway.catalog.listDatasets(
      { pageSize: 1000, pageToken },
      gateway.callOptions(),
    );
    for (const candidate of page.datasets) {
      if (!candidate.name.startsWith(prefix)) continue;
      const info = readIndexInfo(candidate.snapshot?.message ?? "");
      if (info?.source === source && typeof info.column === "string") columns.add(info.column);
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  const [only, ...others] = [...columns];
  if (only === undefined) {
    await gateway.catalog.getDataset({ name: dataset, omitFiles: true }, gateway.callOptions());
    throw new LocalError(
      "not_found",
      `dataset ${dataset} has no search index: build one with lakehouse index ${dataset} --column <column>`,
    );
  }
  if (others.length > 0) {
    throw new LocalError(
      "invalid_argument",
      `dataset ${dataset} has indexes on ${[only, ...others].join(", ")}: choose one with --column`,
    );
  }
  return only;
}
