import { create } from "@bufbuild/protobuf";
import {
  type QueryParameter,
  QueryParameterSchema,
} from "../../gen/lakehouse/query/v1/query_pb.js";
import { UsageError } from "./cli-errors.js";

const NAMED = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
const INTEGER = /^-?[0-9]+$/;
const DECIMAL = /^-?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Turns `--param` values into query parameters, in order.
 *
 * `NAME=VALUE` binds `$NAME`; a bare `VALUE` binds the next `?`. The value's
 * type follows its spelling: `null`, `true`/`false`, a whole number (BIGINT),
 * a number with a fraction or exponent (DOUBLE), a JSON string in double
 * quotes (VARCHAR, for text that would otherwise read as another type, e.g.
 * `'"42"'` or `'"a=b"'`), anything else as VARCHAR text.
 *
 * @throws UsageError for a whole number outside BIGINT or a malformed quoted string.
 */
export function parseQueryParameters(values: readonly string[]): QueryParameter[] {
  return values.map((text) => {
    const named = text.startsWith('"') ? null : NAMED.exec(text);
    const name = named?.[1] ?? "";
    const value = named?.[2] ?? text;
    return create(QueryParameterSchema, { name, value: typedValue(value) });
  });
}

function typedValue(text: string): QueryParameter["value"] {
  if (text === "null") return { case: "nullValue", value: true };
  if (text === "true" || text === "false") return { case: "boolValue", value: text === "true" };
  if (INTEGER.test(text)) {
    const value = BigInt(text);
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new UsageError(`--param ${text}: outside the BIGINT range; quote it as '"${text}"'`);
    }
    return { case: "int64Value", value };
  }
  if (DECIMAL.test(text)) return { case: "doubleValue", value: Number(text) };
  if (text.startsWith('"')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UsageError(`--param ${text}: not a valid JSON string`);
    }
    if (typeof parsed !== "string") throw new UsageError(`--param ${text}: not a JSON string`);
    return { case: "stringValue", value: parsed };
  }
  return { case: "stringValue", value: text };
}
