/** One column of a text table. */
export interface TableColumn {
  readonly header: string;
  /** Numbers read best right-aligned; text left-aligned (the default). */
  readonly align?: "left" | "right";
}

/** Width in terminal columns, counting code points rather than UTF-16 units. */
function width(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function pad(text: string, size: number, align: "left" | "right"): string {
  const fill = " ".repeat(Math.max(0, size - width(text)));
  return align === "right" ? fill + text : text + fill;
}

/**
 * Renders rows as an aligned text table for people: a header, a rule of
 * dashes, one line per row, columns two spaces apart, no trailing spaces.
 * Control characters inside cells are shown escaped (`\n`), so one row is
 * always one line.
 */
export function renderTable(columns: readonly TableColumn[], rows: readonly string[][]): string {
  const cells = rows.map((row) => columns.map((_, i) => visible(row[i] ?? "")));
  const widths = columns.map((column, i) =>
    Math.max(width(column.header), ...cells.map((row) => width(row[i] ?? ""))),
  );
  const line = (values: readonly string[]) =>
    `${values
      .map((value, i) => pad(value, widths[i] ?? 0, columns[i]?.align ?? "left"))
      .join("  ")
      .trimEnd()}\n`;
  return (
    line(columns.map((column) => column.header)) +
    line(widths.map((size) => "-".repeat(size))) +
    cells.map(line).join("")
  );
}

/** Escapes what would break a table line. */
function visible(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped here.
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}
