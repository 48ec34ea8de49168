import { Code } from "@connectrpc/connect";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { duckdbError } from "./catalog-duckdb.js";

describe("duckdbError", () => {
  it("keeps DuckDB's message without the statement excerpt or the server's paths", async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const path = "/srv/catalog-work/op-1/source";
    try {
      const raw = await connection.run(`SELECT no_such FROM read_csv('${path}')`).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(raw?.message).toContain(path);
      const error = duckdbError(raw, "UNREADABLE_SOURCE", "the object cannot be read as CSV", [
        path,
      ]);
      expect(error.code).toBe(Code.InvalidArgument);
      expect(errorReason(error)).toBe("UNREADABLE_SOURCE");
      expect(error.rawMessage).toBe(
        'the object cannot be read as CSV: IO Error: No files found that match the pattern "<file>"',
      );
      expect(error.rawMessage).not.toContain("/srv/");
      expect(error.rawMessage).not.toContain("LINE");
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
