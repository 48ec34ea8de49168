import { randomUUID } from "node:crypto";
import { ConnectError } from "@connectrpc/connect";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { sqlString } from "../kit/sql-text.js";
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
          // Every other option is DuckDB's default, so the header, delimiter, column
          // names and types are exactly those of `FROM 'file.csv'` on the user's file.
          await connection.run(
            `COPY (SELECT * FROM read_csv(${source}, ${compression})) TO ${target} (FORMAT parquet)`,
          );
          return;
        case SourceFormat.JSON:
          await connection.run(
            `COPY (SELECT * FROM read_json_auto(${source}, ${compression})) TO ${target} (FORMAT parquet)`,
          );
          return;
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
