import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlString } from "../kit/sql-text.js";

/**
 * Writes search-index Parquet files with a private DuckDB instance that runs
 * only the statement below, locked to the work directory.
 */
export interface IndexParquetWriter {
  /**
   * Converts an NDJSON file of `{"text_hash", "embedding"}` rows to Parquet with
   * exact types: `text_hash VARCHAR`, `embedding FLOAT[dimensions]` (the
   * fixed-size array DuckDB's array similarity functions take).
   */
  convert(ndjsonPath: string, parquetPath: string, dimensions: number): Promise<void>;
  close(): void;
}

/**
 * Creates the writer. DuckDB opens on first use (a service that never builds
 * an index never creates its work directory), with extension auto-install and
 * auto-load off and its configuration locked.
 */
export function createIndexParquetWriter(workDirectory: string): IndexParquetWriter {
  let opened: Promise<DuckDBInstance> | undefined;
  return {
    async convert(ndjsonPath, parquetPath, dimensions) {
      if (!Number.isInteger(dimensions) || dimensions < 1) {
        throw new Error(`bad vector length ${dimensions}`);
      }
      opened ??= openInstance(resolve(workDirectory));
      const connection = await (await opened).connect();
      try {
        await connection.run(
          `COPY (SELECT text_hash, embedding::FLOAT[${dimensions}] AS embedding
             FROM read_json(${sqlString(ndjsonPath)}, format = 'newline_delimited',
               columns = {text_hash: 'VARCHAR', embedding: 'FLOAT[]'})
             ORDER BY text_hash)
           TO ${sqlString(parquetPath)} (FORMAT parquet)`,
        );
      } finally {
        connection.closeSync();
      }
    },
    close() {
      void opened?.then((instance) => instance.closeSync()).catch(() => {});
    },
  };
}

async function openInstance(root: string): Promise<DuckDBInstance> {
  await mkdir(root, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:", {
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    threads: "1",
    memory_limit: "512MB",
  });
  const setup = await instance.connect();
  try {
    await setup.run(`SET allowed_directories = [${sqlString(root)}]`);
    await setup.run(`SET temp_directory = ${sqlString(`${root}/duckdb-spill`)}`);
    await setup.run("SET enable_external_access = false");
    await setup.run("SET lock_configuration = true");
  } finally {
    setup.closeSync();
  }
  return instance;
}
