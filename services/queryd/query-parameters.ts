import { Code } from "@connectrpc/connect";
import type { DuckDBPreparedStatement } from "@duckdb/node-api";
import type { QueryParameter } from "../../gen/lakehouse/query/v1/query_pb.js";
import { serviceError } from "../kit/errors.js";

/**
 * Binds request parameters to a prepared statement: named ones to `$name`,
 * the others to `?`/`$n` in order. Values are bound with their own types,
 * never spliced into SQL text.
 *
 * @throws INVALID_ARGUMENT (INVALID_PARAMETERS) when the count or a name does
 * not match the statement's placeholders, or a value is missing.
 */
export function bindParameters(
  statement: DuckDBPreparedStatement,
  parameters: readonly QueryParameter[],
): void {
  const expected = statement.parameterCount;
  if (parameters.length !== expected) {
    throw invalid(
      `the statement has ${expected} placeholders but ${parameters.length} parameters were given`,
    );
  }
  const names = new Map<string, number>();
  for (let index = 1; index <= expected; index++) names.set(statement.parameterName(index), index);
  let position = 0;
  const seen = new Set<number>();
  for (const parameter of parameters) {
    const index = parameter.name === "" ? ++position : names.get(parameter.name);
    if (index === undefined) throw invalid(`the statement has no placeholder $${parameter.name}`);
    if (seen.has(index)) throw invalid(`placeholder ${index} is bound twice`);
    seen.add(index);
    bindValue(statement, index, parameter);
  }
}

function bindValue(
  statement: DuckDBPreparedStatement,
  index: number,
  parameter: QueryParameter,
): void {
  const value = parameter.value;
  switch (value.case) {
    case "nullValue":
      statement.bindNull(index);
      return;
    case "boolValue":
      statement.bindBoolean(index, value.value);
      return;
    case "int64Value":
      statement.bindBigInt(index, value.value);
      return;
    case "doubleValue":
      statement.bindDouble(index, value.value);
      return;
    case "stringValue":
      statement.bindVarchar(index, value.value);
      return;
    case "bytesValue":
      statement.bindBlob(index, value.value);
      return;
    default:
      throw invalid(`parameter ${parameter.name || index} has no value`);
  }
}

function invalid(message: string) {
  return serviceError(Code.InvalidArgument, "INVALID_PARAMETERS", message);
}
