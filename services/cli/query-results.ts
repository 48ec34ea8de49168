import type { Duration } from "@bufbuild/protobuf/wkt";
import { RecordBatchReader } from "apache-arrow";
import type {
  ExecuteQueryResponse,
  QueryHeader,
  QuerySummary,
} from "../../gen/lakehouse/query/v1/query_pb.js";
import type { JsonValue } from "../queryd/result/json-value.js";
import { batchRows } from "./arrow-json-value.js";
import { cellText } from "./cell-text.js";
import { csvRecord } from "./csv-record.js";
import type { Output } from "./output.js";
import { renderTable } from "./text-table.js";

/** How `lakehouse query` prints rows. */
export type QueryFormat = "table" | "json" | "csv" | "arrow";

/** Every output format, in the order the help lists them. */
export const QUERY_FORMATS: readonly QueryFormat[] = ["table", "json", "csv", "arrow"];

/** The messages of one ExecuteQuery call, in order: header, batches, summary. */
export type ResultStream = AsyncIterable<ExecuteQueryResponse>;

/**
 * Prints each JSON row the moment its batch arrives, one object per line
 * (NDJSON), exactly as the server encoded it.
 */
export async function writeJsonRows(
  responses: ResultStream,
  output: Output,
): Promise<QuerySummary | undefined> {
  let summary: QuerySummary | undefined;
  for await (const response of responses) {
    const { payload } = response;
    if (payload.case === "batch" && payload.value.jsonRows.length > 0) {
      await output.write(`${payload.value.jsonRows.join("\n")}\n`);
    } else if (payload.case === "summary") {
      summary = payload.value;
    }
  }
  return summary;
}

/**
 * Writes the `arrow_ipc` bytes of every message in order: schema, batches,
 * end-of-stream, which together are one valid Arrow IPC stream.
 */
export async function writeArrowStream(
  responses: ResultStream,
  output: Output,
): Promise<QuerySummary | undefined> {
  let summary: QuerySummary | undefined;
  for await (const response of responses) {
    const { payload } = response;
    if (payload.case === undefined) continue;
    if (payload.value.arrowIpc.byteLength > 0) await output.write(payload.value.arrowIpc);
    if (payload.case === "summary") summary = payload.value;
  }
  return summary;
}

/**
 * Decodes the Arrow stream batch by batch as its bytes arrive (never the whole
 * result at once), handing each batch's rows, values in their JSON form, to
 * `onRows`. Resolves with the column names from the Arrow schema and the
 * summary.
 */
async function decodeArrowRows(
  responses: ResultStream,
  onSchema: (names: string[], header: QueryHeader | undefined) => Promise<void>,
  onRows: (rows: JsonValue[][]) => Promise<void>,
): Promise<QuerySummary | undefined> {
  let header: QueryHeader | undefined;
  let summary: QuerySummary | undefined;
  async function* arrowBytes(): AsyncGenerator<Uint8Array> {
    for await (const response of responses) {
      const { payload } = response;
      if (payload.case === "header") header = payload.value;
      if (payload.case === "summary") summary = payload.value;
      if (payload.case !== undefined && payload.value.arrowIpc.byteLength > 0) {
        yield payload.value.arrowIpc;
      }
    }
  }
  const reader = await RecordBatchReader.from(arrowBytes());
  await reader.open();
  await onSchema(
    reader.schema.fields.map((field) => field.name),
    header,
  );
  for await (const batch of reader) await onRows([...batchRows(batch)]);
  return summary;
}

/** RFC 4180 CSV with a header row, written batch by batch. */
export function writeCsv(
  responses: ResultStream,
  output: Output,
): Promise<QuerySummary | undefined> {
  return decodeArrowRows(
    responses,
    (names) => output.write(csvRecord(names)),
    (rows) => output.write(rows.map((row) => csvRecord(row.map(cellText))).join("")),
  );
}

/** DuckDB types whose values read best right-aligned. */
const NUMERIC_TYPE = /^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|DECIMAL(\(.*\))?|DOUBLE|FLOAT|REAL)$/;

/**
 * An aligned text table for a person at a terminal. Column widths depend on
 * every row, so this format (alone) holds the rows until the end; use
 * `--max-rows` or another format for large results.
 */
export async function writeTable(
  responses: ResultStream,
  output: Output,
): Promise<QuerySummary | undefined> {
  let columns: { header: string; align: "left" | "right" }[] = [];
  const rows: string[][] = [];
  const summary = await decodeArrowRows(
    responses,
    async (names, header) => {
      columns = names.map((name, i) => ({
        header: name,
        align: NUMERIC_TYPE.test(header?.columns[i]?.type ?? "") ? "right" : "left",
      }));
    },
    async (batch) => {
      for (const row of batch) rows.push(row.map((value) => cellText(value) ?? "NULL"));
    },
  );
  await output.write(renderTable(columns, rows));
  return summary;
}

function seconds(duration: Duration | undefined): number {
  if (duration === undefined) return 0;
  return Number(duration.seconds) + duration.nanos / 1e9;
}

/** The stderr line for a script when a limit cut the result (a person sees {@link summaryLine}). */
export function truncationWarning(summary: QuerySummary): string {
  return `warning: the result was cut at ${summary.rowCount} rows by --max-rows or the server's row or byte limit; --fail-on-limit makes this an error\n`;
}

/** The one-line summary for a person: rows, server time, and whether a limit cut the result. */
export function summaryLine(summary: QuerySummary): string {
  const rows = `${summary.rowCount} ${summary.rowCount === 1n ? "row" : "rows"}`;
  const truncated = summary.truncated ? ", truncated at the row or byte limit" : "";
  return `(${rows} in ${seconds(summary.elapsed).toFixed(3)} s${truncated})\n`;
}
