import { randomUUID } from "node:crypto";
import { ConnectError } from "@connectrpc/connect";
import type { DuckDBConnection } from "@duckdb/node-api";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { sqlIdentifier, sqlString } from "../kit/sql-text.js";
import { importArrowIpc } from "./arrow-ipc-import.js";
import { type CatalogDuckDB, duckdbError } from "./catalog-duckdb.js";
import { type ConcreteSourceFormat, sourceCompression } from "./source-format.js";

/** The text and Arrow formats that are converted; Parquet is registered as is. */
export type ConvertibleFormat = Exclude<ConcreteSourceFormat, SourceFormat.PARQUET>;

/**
 * Converts a local CSV (delimiter, header and types detected by DuckDB), JSON (array of
 * objects or newline-delimited) or Arrow IPC (file or stream) file into a Parquet file at
 * `targetPath`, so every data file of a dataset is Parquet with a readable footer. CSV
 * and JSON may be gzip or zstd files: the content decides, whatever the file is called.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason UNREADABLE_SOURCE (with the reader's
 *   message) when the file cannot be read in that format; for Arrow IPC also
 *   UNSUPPORTED_ARROW_TYPE (a column type without an exact DuckDB counterpart) or
 *   UNREPRESENTABLE_ARROW_VALUE (a value its DuckDB type cannot hold exactly).
 */
export async function convertToParquet(
  db: CatalogDuckDB,
  format: ConvertibleFormat,
  sourcePath: string,
  targetPath: string,
  conformTo?: readonly TargetColumn[],
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
          // Every other option is DuckDB's default, so the header, delimiter, column
          // names and types are exactly those of `FROM 'file.csv'` on the user's file.
          const reader = format === SourceFormat.CSV ? "read_csv" : "read_json_auto";
          const scan = `${reader}(${source}, ${compression})`;
          const rows = await conformingSelect(connection, scan, conformTo);
          await connection.run(`COPY (${rows}) TO ${target} (FORMAT parquet)`);
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

/** A column of the dataset a converted file is to join: its name and DuckDB type. */
export interface TargetColumn {
  readonly name: string;
  readonly type: string;
}

/**
 * The rows of `scan`, as the dataset's own columns when the file has exactly
 * those (by name, in any order): DuckDB guesses each text file's types anew,
 * so a day whose amounts are all whole numbers would otherwise read as
 * BIGINT and no longer fit a DOUBLE column. A value the dataset's type cannot
 * hold fails the conversion with DuckDB's message; a file with other columns
 * is converted as it is, and the commit decides.
 */
async function conformingSelect(
  connection: DuckDBConnection,
  scan: string,
  conformTo: readonly TargetColumn[] | undefined,
): Promise<string> {
  const asItIs = `SELECT * FROM ${scan}`;
  if (conformTo === undefined || conformTo.length === 0) return asItIs;
  const described = await connection.runAndReadAll(`DESCRIBE ${asItIs}`);
  const names = described.getRows().map((row) => String(row[0]));
  const wanted = new Set(conformTo.map((column) => column.name));
  if (names.length !== wanted.size || !names.every((name) => wanted.has(name))) return asItIs;
  const columns = conformTo.map(
    ({ name, type }) => `CAST(${sqlIdentifier(name)} AS ${type}) AS ${sqlIdentifier(name)}`,
  );
  return `SELECT ${columns.join(", ")} FROM ${scan}`;
}
