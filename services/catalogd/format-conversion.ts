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
  appendTo?: AppendTarget,
): Promise<void> {
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
          const reader = textReader(format, `${source}, ${compression}`);
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

/**
 * DuckDB's readers of a CSV or JSON file. Every option but the given types is
 * DuckDB's default, so the header, delimiter, column names and types are those
 * of `FROM 'file.csv'` on the user's file.
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
