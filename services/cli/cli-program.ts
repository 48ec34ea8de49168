import { Command, CommanderError, Option } from "commander";
import { registerAskCommand } from "./ask-command.js";
import type { CliContext } from "./cli-context.js";
import { EXIT_OK, EXIT_USAGE, reportError } from "./cli-errors.js";
import { parseGatewayUrl, parseSeconds } from "./cli-options.js";
import { registerDatasetsCommand } from "./datasets-command.js";
import { registerDiffCommand } from "./diff-command.js";
import { registerDropCommand } from "./drop-command.js";
import { registerEmbedCommand } from "./embed-command.js";
import { registerExpireCommand } from "./expire-command.js";
import { registerExplainCommand } from "./explain-command.js";
import { registerHealthCommand } from "./health-command.js";
import { registerIndexCommand } from "./index-command.js";
import { registerIngestCommand } from "./ingest-command.js";
import { registerQueryCommand } from "./query-command.js";
import { examples } from "./rendering.js";
import { registerSchemaCommand } from "./schema-command.js";
import { registerSearchCommand } from "./search-command.js";
import { registerShowCommand } from "./show-command.js";
import { registerSnapshotsCommand } from "./snapshots-command.js";
import { registerTokenCommand } from "./token-command.js";

/**
 * Builds the `lakehouse` command line. Commander reports usage errors through
 * `exitOverride` instead of exiting, so {@link runCli} alone decides exit
 * statuses, and its error lines are reworded to the CLI's own
 * `error: usage: ...` form.
 */
export function createProgram(context: CliContext, usageText: string[]): Command {
  const program = new Command("lakehouse")
    .description(
      "Command-line client of a lakehouse gateway: ingest files, browse datasets and snapshots, run SQL.",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void context.stdout.write(text).catch(() => {}),
      writeErr: (text) => usageText.push(text),
      outputError: (text, write) => write(text.replace(/^error: /, "error: usage: ")),
    })
    .showHelpAfterError("(add --help for usage)")
    .addOption(
      new Option(
        "--url <url>",
        "gateway base URL (env: LAKEHOUSE_URL, default: http://127.0.0.1:8080)",
      ).argParser(parseGatewayUrl),
    )
    .addOption(
      new Option("--timeout <seconds>", "deadline for the whole command").argParser(parseSeconds),
    )
    .option("--json", "print JSON instead of text tables (listings and details)")
    .addHelpText(
      "after",
      `${examples([
        "lakehouse ingest sales.csv --dataset sales",
        "lakehouse datasets",
        `lakehouse query "SELECT count(*) FROM sales"`,
        "LAKEHOUSE_URL=http://gateway:8080 LAKEHOUSE_TOKEN_FILE=~/.lakehouse-token lakehouse health",
      ])}
Environment:
  LAKEHOUSE_URL         gateway base URL (--url wins)
  LAKEHOUSE_TOKEN       bearer token sent with every call
  LAKEHOUSE_TOKEN_FILE  file holding the token, when LAKEHOUSE_TOKEN is unset

Exit status: 0 success, 1 the call failed, 2 usage error, 130 interrupted.
`,
    );
  registerIngestCommand(program, context);
  registerDatasetsCommand(program, context);
  registerSnapshotsCommand(program, context);
  registerSchemaCommand(program, context);
  registerShowCommand(program, context);
  registerDiffCommand(program, context);
  registerDropCommand(program, context);
  registerExpireCommand(program, context);
  registerQueryCommand(program, context);
  registerExplainCommand(program, context);
  registerHealthCommand(program, context);
  registerTokenCommand(program, context);
  registerEmbedCommand(program, context);
  registerIndexCommand(program, context);
  registerSearchCommand(program, context);
  registerAskCommand(program, context);
  return program;
}

/**
 * Runs one command line and resolves with the exit status. Every failure ends
 * here as one `error: ...` line on stderr: never a stack trace for an expected
 * error (set LAKEHOUSE_DEBUG=1 to see one for an unexpected error).
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const usageText: string[] = [];
  const program = createProgram(context, usageText);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      const helpShown =
        error.code === "commander.helpDisplayed" || error.code === "commander.version";
      // Bare `lakehouse` prints help as an error: it was asked to do nothing.
      await context.stderr.write(usageText.join("")).catch(() => {});
      return helpShown ? EXIT_OK : EXIT_USAGE;
    }
    const report = reportError(error, Boolean(context.env.LAKEHOUSE_DEBUG));
    await context.stderr.write(report.text).catch(() => {});
    return report.exitCode;
  }
}
