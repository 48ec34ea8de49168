import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { canonicalDatasetName } from "./dataset-name.js";

describe("canonicalDatasetName", () => {
  it("accepts SQL identifiers of 1 to 128 characters", () => {
    for (const name of ["a", "_", "sales_2024", "x".repeat(128), "_9"]) {
      expect(canonicalDatasetName(name)).toBe(name);
    }
  });

  it("folds a name to lower case, as SQL folds table names", () => {
    expect(canonicalDatasetName("Sales_2024")).toBe("sales_2024");
    expect(canonicalDatasetName("SALES")).toBe("sales");
  });

  it("refuses anything else with INVALID_ARGUMENT INVALID_DATASET_NAME", () => {
    for (const name of ["", "9a", "a-b", "a.b", "a/b", "a b", "é", "x".repeat(129), "a\n"]) {
      let error: unknown;
      try {
        canonicalDatasetName(name);
      } catch (e) {
        error = e;
      }
      expect(ConnectError.from(error).code, JSON.stringify(name)).toBe(Code.InvalidArgument);
      expect(errorReason(error)).toBe("INVALID_DATASET_NAME");
    }
  });
});
