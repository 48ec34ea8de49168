import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { errorReason } from "../kit/errors.js";
import { readerOptionArguments } from "./reader-options.js";

function refusal(format: SourceFormat, options: Record<string, string>): ConnectError {
  try {
    readerOptionArguments(format, options);
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected a refusal");
}

describe("readerOptionArguments", () => {
  it("writes each option as a SQL literal of its kind", () => {
    expect(
      readerOptionArguments(SourceFormat.CSV, {
        delim: ";",
        nullstr: "it's NA",
        header: "false",
        skip: "2",
        encoding: "latin-1",
      }),
    ).toBe(", delim = ';', nullstr = 'it''s NA', header = false, skip = 2, encoding = 'latin-1'");
    expect(readerOptionArguments(SourceFormat.JSON, { format: "array", sample_size: "-1" })).toBe(
      ", format = 'array', sample_size = -1",
    );
    expect(readerOptionArguments(SourceFormat.PARQUET, {})).toBe("");
  });

  it("refuses options the format does not take and values of the wrong kind, naming what is allowed", () => {
    const cases: [SourceFormat, Record<string, string>, string][] = [
      [SourceFormat.CSV, { filename: "true" }, 'take no reader option "filename"; allowed: delim'],
      [SourceFormat.JSON, { delim: ";" }, 'take no reader option "delim"'],
      [SourceFormat.CSV, { header: "yes" }, "header must be true or false"],
      [SourceFormat.CSV, { skip: "1; DROP" }, "skip must be an integer"],
      [SourceFormat.CSV, { encoding: "ebcdic" }, "encoding must be one of utf-8, utf-16, latin-1"],
      [SourceFormat.CSV, { delim: "x".repeat(65) }, "delim must be text of at most 64"],
      [SourceFormat.CSV, { nullstr: "a\u0000b" }, "nullstr must be text"],
      [SourceFormat.PARQUET, { delim: ";" }, "reader options apply to CSV and JSON files"],
      [SourceFormat.ARROW_IPC, { delim: ";" }, "not to ARROW_IPC"],
    ];
    for (const [format, options, message] of cases) {
      const error = refusal(format, options);
      expect(error.code, message).toBe(Code.InvalidArgument);
      expect(errorReason(error), message).toBe("INVALID_READER_OPTION");
      expect(error.rawMessage).toContain(message);
    }
  });
});
