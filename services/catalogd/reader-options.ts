import { Code } from "@connectrpc/connect";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { serviceError } from "../kit/errors.js";
import { sqlString } from "../kit/sql-text.js";

/** How a reader option's value is checked and written into the reader call. */
type OptionKind = "text" | "boolean" | "integer" | readonly string[];

/**
 * The options of DuckDB's `read_csv` and `read_json` an ingest may set, by their
 * DuckDB names (so DuckDB's documentation applies). Each only changes how the
 * file's text is read; none names a file, a table or a setting.
 */
const READER_OPTIONS: ReadonlyMap<SourceFormat, ReadonlyMap<string, OptionKind>> = new Map([
  [
    SourceFormat.CSV,
    new Map<string, OptionKind>([
      ["delim", "text"],
      ["quote", "text"],
      ["escape", "text"],
      ["comment", "text"],
      ["header", "boolean"],
      ["nullstr", "text"],
      ["dateformat", "text"],
      ["timestampformat", "text"],
      ["decimal_separator", "text"],
      ["encoding", ["utf-8", "utf-16", "latin-1"]],
      ["sample_size", "integer"],
      ["skip", "integer"],
      ["all_varchar", "boolean"],
      ["normalize_names", "boolean"],
    ]),
  ],
  [
    SourceFormat.JSON,
    new Map<string, OptionKind>([
      ["format", ["auto", "newline_delimited", "array", "unstructured"]],
      ["dateformat", "text"],
      ["timestampformat", "text"],
      ["sample_size", "integer"],
      ["maximum_depth", "integer"],
    ]),
  ],
]);

/** Longest text value taken: reader options are short by nature. */
const MAX_TEXT_LENGTH = 64;

/**
 * The `name = value` arguments (each led by ", ") that add `options` to a
 * `read_csv` or `read_json` call for `format`, values written as SQL literals.
 *
 * @throws INVALID_ARGUMENT (INVALID_READER_OPTION) for an option the format does not
 *   take or a value of the wrong kind, naming what is allowed.
 */
export function readerOptionArguments(
  format: SourceFormat,
  options: Readonly<Record<string, string>>,
): string {
  const entries = Object.entries(options);
  if (entries.length === 0) return "";
  const allowed = READER_OPTIONS.get(format);
  const refuse = (message: string, option: string) =>
    serviceError(Code.InvalidArgument, "INVALID_READER_OPTION", message, { option });
  if (allowed === undefined) {
    throw refuse(
      `reader options apply to CSV and JSON files, not to ${SourceFormat[format]}`,
      entries[0]![0],
    );
  }
  return entries
    .map(([name, value]) => {
      const kind = allowed.get(name);
      if (kind === undefined) {
        throw refuse(
          `${SourceFormat[format]} files take no reader option "${name.slice(0, 64)}"; allowed: ${[...allowed.keys()].join(", ")}`,
          name.slice(0, 64),
        );
      }
      const literal = optionLiteral(kind, value);
      if (literal === undefined) {
        throw refuse(`reader option ${name} must be ${describeKind(kind)}`, name);
      }
      return `, ${name} = ${literal}`;
    })
    .join("");
}

function optionLiteral(kind: OptionKind, value: string): string | undefined {
  if (Array.isArray(kind)) return kind.includes(value) ? sqlString(value) : undefined;
  switch (kind) {
    case "boolean":
      return value === "true" || value === "false" ? value : undefined;
    case "integer":
      return /^-?\d{1,12}$/.test(value) ? value : undefined;
    default:
      return value.length <= MAX_TEXT_LENGTH && !value.includes("\0")
        ? sqlString(value)
        : undefined;
  }
}

function describeKind(kind: OptionKind): string {
  if (Array.isArray(kind)) return `one of ${kind.join(", ")}`;
  switch (kind) {
    case "boolean":
      return "true or false";
    case "integer":
      return "an integer";
    default:
      return `text of at most ${MAX_TEXT_LENGTH} characters`;
  }
}
