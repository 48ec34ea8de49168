import { randomUUID } from "node:crypto";
import { ConnectError } from "@connectrpc/connect";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { parquetExactStatement } from "../kit/parquet-exact-columns.js";
import { sqlString } from "../kit/sql-text.js";
import { importArrowIpc } from "./arrow-ipc-import.js";
import { type CatalogDuckDB, duckdbError } from "./catalog-duckdb.js";
import { type ConcreteSourceFormat, sourceCompression } from "./source-format.js";
import {
  type AppendTarget,
  type TargetColumn,
  type TextReader,
  textAppendStatement,
} from "./text-append.js";

/** The text and Arrow formats that are converted; Parquet is registered as is. */
export type ConvertibleFormat = Exclude<ConcreteSourceFormat, SourceFormat.PARQUET>;

/**
 * Converts a local CSV (delimiter, header and types detected by DuckDB), JSON (array of
 * objects or newline-delimited) or Arrow IPC (file or stream) file into a Parquet file at
 * `targetPath`, so every data file of a dataset is Parquet with a readable footer. CSV
 * and JSON may be gzip or zstd files: the content decides, whatever the file is called.
 * Appended to a dataset (`appendTo`), they are read in its types where that changes no
 * value. 128-bit integers (a JSON number past 64 bits) are kept as DECIMAL(38,0).
 *
 * @throws ConnectError INVALID_ARGUMENT, reason UNREADABLE_SOURCE (with the reader's
 *   message) when the file cannot be read in that format; for Arrow IPC also
 *   UNSUPPORTED_ARROW_TYPE (a column type without an exact DuckDB counterpart) or
 *   UNREPRESENTABLE_ARROW_VALUE (a value its DuckDB type cannot hold exactly); for an
 *   append of CSV or JSON, the errors of {@link textAppendStatement}.
 */
export async function convertToParquet(
  db: CatalogDuckDB,
  format: ConvertibleFormat,
  sourcePath: string,
  targetPath: string,
  options: ConversionOptions = {},
): Promise<void> {
  const { appendTo, readerArguments = "" } = options;
  const target = sqlString(targetPath);
  const source = sqlString(sourcePath);
  // Given explicitly: DuckDB would otherwise guess it from the name, which the local
  // copy of an upload does not keep.
  const compression = `compression = ${sqlString(await sourceCompression(sourcePath))}`;
  await db.withConnection(async (connection) => {
    try {
      switch (format) {
        case SourceFormat.CSV:
        case SourceFormat.JSON: {
          // DuckDB guesses types from the first 20,480 rows by default, and then
          // casts later values to them quietly: 1.5 at row 25,000 of a column
          // guessed BIGINT would be stored as 2. So the whole file is sampled,
          // unless the caller chose a sample size.
          const sampling = /\bsample_size =/.test(readerArguments) ? "" : ", sample_size = -1";
          const reader = textReader(
            format,
            `${source}, ${compression}${readerArguments}${sampling}`,
          );
          const rows =
            appendTo === undefined
              ? `SELECT * FROM ${reader.guessed}`
              : await textAppendStatement(connection, reader, appendTo);
          const probe = await connection.run(`${rows} LIMIT 0`);
          const exact = parquetExactStatement(
            rows,
            probe.columnNames(),
            probe.columnTypes(),
            "UNSUPPORTED_SOURCE_TYPE",
          );
          await connection.run(`COPY (${exact}) TO ${target} (FORMAT parquet)`);
          return;
        }
        case SourceFormat.ARROW_IPC: {
          const table = `arrow_import_${randomUUID().replaceAll("-", "")}`;
          try {
            await importArrowIpc(connection, sourcePath, table);
            await connection.run(`COPY ${table} TO ${target} (FORMAT parquet)`);
          } finally {
            await connection.run(`DROP TABLE IF EXISTS ${table}`);
          }
          return;
        }
      }
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      throw duckdbError(
        error,
        "UNREADABLE_SOURCE",
        `the object cannot be read as ${SourceFormat[format]}`,
        [sourcePath, targetPath],
      );
    }
  });
}

/** Options of {@link convertToParquet}. */
export interface ConversionOptions {
  /** The dataset a CSV or JSON file is appended to, whose types it is read in. */
  readonly appendTo?: AppendTarget | undefined;
  /** Reader options for CSV and JSON, as `readerOptionArguments` writes them. */
  readonly readerArguments?: string;
}

/**
 * DuckDB's readers of a CSV or JSON file (`file` is the path and the reader
 * arguments). Every option the caller did not set is DuckDB's default, so the
 * header, delimiter, column names and types are those of `FROM 'file.csv'`.
 */
function textReader(format: SourceFormat.CSV | SourceFormat.JSON, file: string): TextReader {
  const typesOf = (columns: readonly TargetColumn[]) =>
    `{${columns.map(({ name, type }) => `${sqlString(name)}: ${sqlString(type)}`).join(", ")}}`;
  return format === SourceFormat.CSV
    ? { guessed: `read_csv(${file})`, typed: (c) => `read_csv(${file}, types = ${typesOf(c)})` }
    : {
        guessed: `read_json_auto(${file})`,
        typed: (c) => `read_json(${file}, columns = ${typesOf(c)})`,
      };
}
