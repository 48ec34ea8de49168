import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { validateDatasetName } from "./dataset-name.js";

describe("validateDatasetName", () => {
  it("accepts SQL identifiers of 1 to 128 characters", () => {
    for (const name of ["a", "_", "Sales_2024", "x".repeat(128), "_9"]) {
      expect(validateDatasetName(name)).toBe(name);
    }
  });

  it("refuses anything else with INVALID_ARGUMENT INVALID_DATASET_NAME", () => {
    for (const name of ["", "9a", "a-b", "a.b", "a/b", "a b", "é", "x".repeat(129), "a\n"]) {
      let error: unknown;
      try {
        validateDatasetName(name);
      } catch (e) {
        error = e;
      }
      expect(ConnectError.from(error).code, JSON.stringify(name)).toBe(Code.InvalidArgument);
      expect(errorReason(error)).toBe("INVALID_DATASET_NAME");
    }
  });
});
