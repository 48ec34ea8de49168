/**
 * One CSV record as RFC 4180 writes it: fields separated by commas, ended by
 * CRLF; a field holding a comma, quote, CR or LF is quoted with quotes
 * doubled. NULL is an empty unquoted field and the empty string is `""`, so
 * the two stay apart (DuckDB, pandas and PostgreSQL's COPY read them so).
 */
export function csvRecord(fields: readonly (string | null)[]): string {
  return `${fields.map(csvField).join(",")}\r\n`;
}

function csvField(field: string | null): string {
  if (field === null) return "";
  if (field === "" || /[",\r\n]/.test(field)) return `"${field.replaceAll('"', '""')}"`;
  return field;
}
