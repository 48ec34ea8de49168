import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { checkPublicPrefix, checkPublicRead, checkPublicWrite, mayRead } from "./public-access.js";

const analyst = { subject: "ana", scopes: ["storage.read"], datasets: ["sales_*"] };
const admin = { subject: "root", scopes: ["admin", "storage.read"], datasets: [] };
const refusal = (work: () => void) => {
  try {
    work();
  } catch (error) {
    return [ConnectError.from(error).code, errorReason(error)];
  }
  return "allowed";
};

describe("what a call through the gateway may do with keys", () => {
  it("reads a dataset's files only with a grant for that dataset, whatever other scopes it holds", () => {
    expect(mayRead(analyst, "datasets/sales_eu/data/a.parquet")).toBe(true);
    expect(mayRead(analyst, "datasets/payroll/data/a.parquet")).toBe(false);
    expect(mayRead(admin, "datasets/sales_eu/data/a.parquet")).toBe(false);
    expect(refusal(() => checkPublicRead(admin, "datasets/sales_eu/data/a.parquet"))).toEqual([
      Code.PermissionDenied,
      "DATASET_NOT_GRANTED",
    ]);
  });

  it("reads the catalog's own objects only with the admin scope", () => {
    expect(refusal(() => checkPublicRead(analyst, "_catalog/datasets/sales_eu.json"))).toEqual([
      Code.PermissionDenied,
      "RESERVED_KEY",
    ]);
    expect(refusal(() => checkPublicRead(admin, "_catalog/datasets/sales_eu.json"))).toBe(
      "allowed",
    );
    expect(refusal(() => checkPublicRead(analyst, "uploads/x.csv"))).toBe("allowed");
  });

  it("writes nothing into the catalog's areas, admin included, and anything elsewhere", () => {
    for (const key of ["_catalog/heads/x.json", "datasets/sales_eu/data/a.parquet", "datasets/x"]) {
      expect(refusal(() => checkPublicWrite(key))).toEqual([Code.PermissionDenied, "RESERVED_KEY"]);
    }
    expect(refusal(() => checkPublicWrite("uploads/datasets/x.csv"))).toBe("allowed");
  });

  it("refuses a prefix inside a closed area and leaves a wider one to filtering", () => {
    expect(refusal(() => checkPublicPrefix(analyst, "_catalog/"))).toEqual([
      Code.PermissionDenied,
      "RESERVED_KEY",
    ]);
    expect(refusal(() => checkPublicPrefix(analyst, "datasets/payroll/"))).toEqual([
      Code.PermissionDenied,
      "DATASET_NOT_GRANTED",
    ]);
    for (const wider of ["", "_", "datasets/", "datasets/pay", "datasets/sales_eu/"]) {
      expect(refusal(() => checkPublicPrefix(analyst, wider))).toBe("allowed");
    }
  });
});
