import { Code } from "@connectrpc/connect";
import { type DuckDBConnection, type DuckDBType, DuckDBTypeId } from "@duckdb/node-api";
import { serviceError } from "../kit/errors.js";
import { sqlIdentifier, sqlString } from "../kit/sql-text.js";

/** A column of the dataset a converted file is to join: its name and DuckDB type. */
export interface TargetColumn {
  readonly name: string;
  readonly type: string;
}

/** The dataset a text file is appended to. */
export interface AppendTarget {
  readonly dataset: string;
  readonly columns: readonly TargetColumn[];
}

/** How DuckDB reads a CSV or JSON file: its own way, or with given column types. */
export interface TextReader {
  /** The table function call that reads the file as DuckDB does by itself. */
  readonly guessed: string;
  /** The same call with each column read as `types` says. */
  typed(types: readonly TargetColumn[]): string;
}

/**
 * The statement that reads a CSV or JSON file to append to `target`. A text
 * file has no types of its own, and DuckDB guesses them anew for each file:
 * a day whose amounts are all whole numbers reads as BIGINT and no longer
 * fits a DOUBLE column, `10.50` in a VARCHAR column reads as the number 10.5.
 * So a file with exactly the dataset's columns (by name, in any order) is
 * read in the dataset's types, which keeps a VARCHAR column's text as written.
 *
 * That reading is accepted only where it agrees with DuckDB's own reading of
 * the file, value for value: a 1.5 read into a BIGINT column (DuckDB would
 * round it), a time of day into a DATE, a nested key the dataset lacks, are
 * refused, never changed. A file with other columns is read as DuckDB reads
 * it, and the commit refuses it, naming the difference.
 *
 * @throws FAILED_PRECONDITION (SCHEMA_CONFLICT) when nested fields differ;
 *   INVALID_ARGUMENT (INEXACT_APPEND) when a value would change.
 */
export async function textAppendStatement(
  connection: DuckDBConnection,
  reader: TextReader,
  target: AppendTarget,
): Promise<string> {
  const guessed = `SELECT * FROM ${reader.guessed}`;
  // Column names are matched ignoring case, as DuckDB binds them: a header `ID`
  // is the dataset's `id`, and the converted file takes the dataset's spelling.
  const header = await columnTypes(connection, guessed);
  const fileColumns = new Map(
    [...header].map(([name, type]) => [name.toLowerCase(), { name, type }]),
  );
  const inFile = (name: string) => fileColumns.get(name.toLowerCase());
  if (
    header.size !== target.columns.length ||
    fileColumns.size !== header.size ||
    !target.columns.every(({ name }) => inFile(name) !== undefined)
  ) {
    return guessed;
  }
  const file = new Map(target.columns.map(({ name }) => [name, inFile(name)!.type]));
  const asInFile = (columns: readonly TargetColumn[]) =>
    columns.map(({ name, type }) => ({ name: inFile(name)!.name, type }));
  const dataset = await columnTypes(
    connection,
    `SELECT ${target.columns.map(({ name, type }) => `CAST(NULL AS ${type}) AS ${sqlIdentifier(name)}`).join(", ")}`,
  );
  for (const { name } of target.columns) {
    const difference = nestedDifference(name, file.get(name)!, dataset.get(name)!);
    if (difference !== undefined) {
      throw serviceError(
        Code.FailedPrecondition,
        "SCHEMA_CONFLICT",
        `the file's columns differ from those of dataset "${target.dataset}": ${difference}`,
        { dataset: target.dataset },
      );
    }
  }
  const columns = target.columns
    .map(({ name }) => `${sqlIdentifier(inFile(name)!.name)} AS ${sqlIdentifier(name)}`)
    .join(", ");
  const typed = `SELECT ${columns} FROM ${reader.typed(asInFile(target.columns))}`;
  const checks = target.columns.flatMap(({ name, type }) => {
    const fileType = file.get(name)!;
    const datasetType = dataset.get(name)!;
    if (fileType.toString() === datasetType.toString() || fileType.toString() === "JSON") return [];
    return [{ name, type, ...comparison(sqlIdentifier(name), fileType, datasetType) }];
  });
  if (checks.length > 0) {
    // Decimals are compared with the file read at the most scale their digits allow:
    // DuckDB's guess (DOUBLE) may already have lost the digits a DECIMAL would drop.
    const wide = target.columns.map(({ name, type }) => ({
      name,
      type: wideDecimal(dataset.get(name)!) ?? type,
    }));
    const widened = checks.some((check) => check.fileValue.startsWith("w."))
      ? ` POSITIONAL JOIN (SELECT ${columns} FROM ${reader.typed(asInFile(wide))}) w`
      : "";
    const changed = await connection.runAndReadAll(
      `SELECT ${checks.map(({ name, check, fileValue }, i) => `NOT (${check}) AS changed${i}, CAST(${fileValue} AS VARCHAR) AS file${i}, CAST(t.${sqlIdentifier(name)} AS VARCHAR) AS read${i}`).join(", ")}
       FROM (SELECT ${columns} FROM ${reader.guessed}) g POSITIONAL JOIN (${typed}) t${widened}
       WHERE ${checks.map(({ check }) => `NOT (${check})`).join(" OR ")}
       LIMIT 1`,
    );
    const row = changed.getRowsJS()[0];
    if (row !== undefined) {
      const i = checks.findIndex((_, index) => row[3 * index] === true);
      const { name, type } = checks[Math.max(0, i)]!;
      const [fileValue, readValue] = [row[3 * i + 1], row[3 * i + 2]].map((value) =>
        value === null ? "NULL" : sqlString(withoutTrailingZeros(String(value))),
      );
      throw serviceError(
        Code.InvalidArgument,
        "INEXACT_APPEND",
        `column "${name}" is ${type} in dataset "${target.dataset}", and the file's value ${fileValue} would become ${readValue}; nothing was appended`,
        { dataset: target.dataset, column: name },
      );
    }
  }
  return typed;
}

/** The names and types of a statement's columns, found without reading its rows. */
async function columnTypes(
  connection: DuckDBConnection,
  statement: string,
): Promise<Map<string, DuckDBType>> {
  const result = await connection.run(`${statement} LIMIT 0`);
  const names = result.columnNames();
  const types = result.columnTypes();
  return new Map(names.map((name, i) => [name, types[i]!]));
}

/**
 * How to tell whether a value read in the dataset's type (`t.<column>`) is the
 * file's value: the expression that is true when it is, and what shows the
 * file's value. Compared in the file's type (`g`, DuckDB's own reading), so a
 * fraction or a time of day lost on the way shows; for DECIMAL, with the file
 * read at the widest scale (`w`); for FLOAT and DOUBLE (whose rounding is the
 * type's own) and UUID (one value, several spellings), in the dataset's type.
 */
function comparison(
  column: string,
  fileType: DuckDBType,
  datasetType: DuckDBType,
): { check: string; fileValue: string } {
  if (wideDecimal(datasetType) !== undefined) {
    const wide = wideDecimal(datasetType)!;
    return {
      check: `w.${column} IS NOT DISTINCT FROM CAST(t.${column} AS ${wide})`,
      fileValue: `w.${column}`,
    };
  }
  const inDatasetType = [DuckDBTypeId.FLOAT, DuckDBTypeId.DOUBLE, DuckDBTypeId.UUID].includes(
    datasetType.typeId,
  );
  return {
    check: inDatasetType
      ? `t.${column} IS NOT DISTINCT FROM TRY_CAST(g.${column} AS ${datasetType.toString()})`
      : `g.${column} IS NOT DISTINCT FROM TRY_CAST(t.${column} AS ${fileType.toString()})`,
    fileValue: `g.${column}`,
  };
}

/** DECIMAL(p,s) widened to 38 digits with every extra digit after the point, if room is left. */
function wideDecimal(type: DuckDBType): string | undefined {
  if (type.typeId !== DuckDBTypeId.DECIMAL) return undefined;
  const integerDigits = type.width - type.scale;
  return integerDigits < 38 ? `DECIMAL(38,${38 - integerDigits})` : undefined;
}

/** `2.500` as `2.5`: a widened decimal's padding, left out of messages. */
function withoutTrailingZeros(text: string): string {
  return /^-?\d+\.\d+$/.test(text) ? text.replace(/\.?0+$/, "") : text;
}

/** The first nested field one side has and the other not, as `"a.b"`, if any. */
function nestedDifference(path: string, file: DuckDBType, dataset: DuckDBType): string | undefined {
  if (file.typeId === DuckDBTypeId.STRUCT && dataset.typeId === DuckDBTypeId.STRUCT) {
    const datasetNames = new Set(dataset.entryNames);
    const fileNames = new Set(file.entryNames);
    const added = file.entryNames.find((name) => !datasetNames.has(name));
    if (added !== undefined) return `the file has "${path}.${added}", the dataset not`;
    const missing = dataset.entryNames.find((name) => !fileNames.has(name));
    if (missing !== undefined) return `the dataset has "${path}.${missing}", the file not`;
    for (const [i, name] of file.entryNames.entries()) {
      const inner = nestedDifference(
        `${path}.${name}`,
        file.entryTypes[i]!,
        dataset.entryTypes[dataset.entryNames.indexOf(name)]!,
      );
      if (inner !== undefined) return inner;
    }
    return undefined;
  }
  const listLike = (type: DuckDBType) =>
    type.typeId === DuckDBTypeId.LIST || type.typeId === DuckDBTypeId.ARRAY;
  if (listLike(file) && listLike(dataset)) {
    return nestedDifference(`${path}[]`, file.valueType, dataset.valueType);
  }
  if (file.typeId === DuckDBTypeId.MAP && dataset.typeId === DuckDBTypeId.MAP) {
    return nestedDifference(`${path}[]`, file.valueType, dataset.valueType);
  }
  return undefined;
}
