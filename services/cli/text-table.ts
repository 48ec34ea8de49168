/** One column of a text table. */
export interface TableColumn {
  readonly header: string;
  /** Numbers read best right-aligned; text left-aligned (the default). */
  readonly align?: "left" | "right";
}

/** Marks, joiners and other characters that take no column of their own. */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
/** Emoji shown as pictures, which terminals draw two columns wide. */
const EMOJI = /^\p{Emoji_Presentation}$/u;
/** East Asian wide and fullwidth blocks (Hangul, CJK, kana, fullwidth forms, ...). */
const WIDE_RANGES: readonly [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x20000, 0x3fffd],
];

/** Width in terminal columns: wide characters count two, combining ones none. */
function width(text: string): number {
  let count = 0;
  for (const char of text) {
    if (ZERO_WIDTH.test(char)) continue;
    const code = char.codePointAt(0) ?? 0;
    const wide = EMOJI.test(char) || WIDE_RANGES.some(([low, high]) => code >= low && code <= high);
    count += wide ? 2 : 1;
  }
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
