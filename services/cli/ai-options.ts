import { type Command, InvalidArgumentError, Option } from "commander";

/** `--provider` and `--model`, shared by the AI commands. */
export function addModelOptions(command: Command): Command {
  return command
    .option("--provider <name>", "the model provider (default: the server's, usually builtin)")
    .option("--model <name>", "the model (default: the provider's default for the task)");
}

/** The values of {@link addModelOptions}. */
export interface ModelOptions {
  readonly provider?: string;
  readonly model?: string;
}

/** A count from 1 to `max`, for `--k`. */
export function parseCount(max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^[0-9]+$/.test(text) || value < 1 || value > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    }
    return value;
  };
}

/** `--column`, required by index and optional for search. */
export function columnOption(description: string, required: boolean): Option {
  const option = new Option("--column <name>", description);
  if (required) option.makeOptionMandatory();
  return option;
}
