import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { type CallerIdentity, callingAs } from "../kit/identity/caller-identity.js";
import { putObject } from "../storaged/client.js";
import { pageThrough, tokenText } from "../storaged/testing/paging.js";
import { type CatalogFixture, startCatalogFixture } from "./testing/catalog-fixture.js";

let fx: CatalogFixture;
const admin: CallerIdentity = { subject: "admin", scopes: [], datasets: ["*"] };
const sales: CallerIdentity = { subject: "ana", scopes: [], datasets: ["sales_*"] };
const as = (identity: CallerIdentity) => ({ contextValues: callingAs(identity) });

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => ConnectError.from(error),
  );
}

beforeAll(async () => {
  fx = await startCatalogFixture({ enforceGrants: true });
  for (const name of ["sales_eu", "sales_us", "payroll"]) {
    await fx.catalog.createDataset({ name }, as(admin));
  }
});

afterAll(async () => {
  await fx.close();
});

describe("catalog dataset grants", () => {
  it("lists only the datasets the caller holds a grant for", async () => {
    const seen = await fx.catalog.listDatasets({}, as(sales));
    expect(seen.datasets.map((d) => d.name).sort()).toEqual(["sales_eu", "sales_us"]);
    const all = await fx.catalog.listDatasets({}, as(admin));
    expect(all.datasets.map((d) => d.name).sort()).toEqual(["payroll", "sales_eu", "sales_us"]);
  });

  it("matches grants and names ignoring letter case", async () => {
    const shouting: CallerIdentity = { subject: "bo", scopes: [], datasets: ["SALES_*"] };
    expect((await fx.catalog.getDataset({ name: "Sales_EU" }, as(shouting))).dataset?.name).toBe(
      "sales_eu",
    );
    const refused = await refusal(fx.catalog.getDataset({ name: "PAYROLL" }, as(sales)));
    expect(refused.code).toBe(Code.PermissionDenied);
  });

  it("refuses every dataset RPC on a dataset outside the grants with PERMISSION_DENIED, existing or not", async () => {
    expect((await fx.catalog.getDataset({ name: "sales_eu" }, as(sales))).dataset?.name).toBe(
      "sales_eu",
    );
    const calls: [string, () => Promise<unknown>][] = [
      ["GetDataset", () => fx.catalog.getDataset({ name: "payroll" }, as(sales))],
      ["GetDataset (missing)", () => fx.catalog.getDataset({ name: "payroll_2" }, as(sales))],
      ["CreateDataset", () => fx.catalog.createDataset({ name: "hr" }, as(sales))],
      ["DeleteDataset", () => fx.catalog.deleteDataset({ name: "payroll" }, as(sales))],
      ["CommitSnapshot", () => fx.catalog.commitSnapshot({ dataset: "payroll" }, as(sales))],
      ["ListSnapshots", () => fx.catalog.listSnapshots({ dataset: "payroll" }, as(sales))],
      [
        "DiffSnapshots",
        () => fx.catalog.diffSnapshots({ dataset: "payroll", fromVersion: 1n }, as(sales)),
      ],
      [
        "IngestObject",
        () =>
          fx.catalog.ingestObject(
            { dataset: "payroll", sourceKey: "uploads/x.csv", createIfMissing: true },
            as(sales),
          ),
      ],
      [
        "ExpireSnapshots",
        () => fx.catalog.expireSnapshots({ dataset: "payroll", keepLast: 1n }, as(sales)),
      ],
    ];
    for (const [rpc, call] of calls) {
      const error = await refusal(call());
      expect([rpc, error.code, errorReason(error)]).toEqual([
        rpc,
        Code.PermissionDenied,
        "DATASET_NOT_GRANTED",
      ]);
    }
    expect((await fx.catalog.getDataset({ name: "payroll" }, as(admin))).dataset?.name).toBe(
      "payroll",
    );
  });

  it("ingests into a granted dataset and records the caller as author", async () => {
    await putObject(fx.storage, "uploads/eu.csv", Buffer.from("id,amount\n1,2.5\n"));
    const { snapshot } = await fx.catalog.ingestObject(
      { dataset: "sales_eu", sourceKey: "uploads/eu.csv" },
      as(sales),
    );
    expect(snapshot?.author).toBe("ana");
  });

  it("grants nothing to a call made on no caller's behalf", async () => {
    const anonymous = await fx.catalog.listDatasets({});
    expect(anonymous.datasets).toEqual([]);
    const error = await refusal(fx.catalog.getDataset({ name: "sales_eu" }));
    expect(error.code).toBe(Code.PermissionDenied);
  });
});

describe("catalog dataset grants across pages", () => {
  let paged: CatalogFixture;
  /** Granted to the narrow caller below. */
  const granted = ["sales_eu", "sales_us", "web_logs"];
  /** Sorted in between, before and after the granted names. */
  const hidden = ["hr_salaries", "payroll", "secret_hr", "secret_pay", "zz_audit"];
  const narrow: CallerIdentity = { subject: "ana", scopes: [], datasets: ["sales_*", "web_*"] };

  beforeAll(async () => {
    paged = await startCatalogFixture({ enforceGrants: true });
    for (const name of [...granted, ...hidden]) {
      await paged.catalog.createDataset({ name }, as(admin));
    }
  });

  afterAll(async () => {
    await paged.close();
  });

  const narrowPages = (pageSize: number) =>
    pageThrough(async (pageToken) => {
      const page = await paged.catalog.listDatasets({ pageSize, pageToken }, as(narrow));
      return { names: page.datasets.map((d) => d.name), nextPageToken: page.nextPageToken };
    });

  for (const pageSize of [1, 2, 3]) {
    it(`gives tokens that name no hidden dataset and full pages of exactly the granted ones (page size ${pageSize})`, async () => {
      const pages = await narrowPages(pageSize);
      for (const { nextPageToken } of pages) {
        const text = tokenText(nextPageToken);
        for (const name of hidden) expect(text).not.toContain(name);
      }
      expect(pages.flatMap((p) => p.names)).toEqual(granted);
      // Only the last page may be short: an empty page is the end of the listing.
      for (const page of pages.slice(0, -1)) expect(page.names).toHaveLength(pageSize);
      expect(pages.at(-1)?.nextPageToken).toBe("");
    });
  }
});
