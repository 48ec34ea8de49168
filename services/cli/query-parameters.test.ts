import { describe, expect, it } from "vitest";
import { UsageError } from "./cli-errors.js";
import { parseQueryParameters } from "./query-parameters.js";

const values = (texts: string[]) =>
  parseQueryParameters(texts).map((parameter) => [parameter.name, parameter.value]);

describe("parseQueryParameters", () => {
  it("types values by their spelling, in order", () => {
    expect(values(["42", "-1.5e3", "true", "null", "north", '"42"'])).toEqual([
      ["", { case: "int64Value", value: 42n }],
      ["", { case: "doubleValue", value: -1500 }],
      ["", { case: "boolValue", value: true }],
      ["", { case: "nullValue", value: true }],
      ["", { case: "stringValue", value: "north" }],
      ["", { case: "stringValue", value: "42" }],
    ]);
  });

  it("binds NAME=VALUE to $NAME, and a quoted value never reads as a name", () => {
    expect(values(["region=north", "n=9223372036854775807", '"a=b"'])).toEqual([
      ["region", { case: "stringValue", value: "north" }],
      ["n", { case: "int64Value", value: 9223372036854775807n }],
      ["", { case: "stringValue", value: "a=b" }],
    ]);
  });

  it("refuses whole numbers outside BIGINT and broken quoted strings", () => {
    expect(() => parseQueryParameters(["9223372036854775808"])).toThrow(UsageError);
    expect(() => parseQueryParameters(['"open'])).toThrow(UsageError);
  });
});
