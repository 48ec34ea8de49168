import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSystem, startSystem } from "./support/system.js";

const run = promisify(execFile);
let system: RunningSystem;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  system = await startSystem();
  env = {
    ...process.env,
    LAKEHOUSE_URL: system.gateway.url.origin,
    LAKEHOUSE_TOKEN: system.adminToken,
  };
  const folder = mkdtempSync(join(tmpdir(), "readme-"));
  const csv = join(folder, "sales.csv");
  writeFileSync(csv, "region,amount\nnorth,10.5\nsouth,20\nnorth,1.25\n");
  await run(process.execPath, ["bin/lakehouse.js", "ingest", csv, "--dataset", "sales"], { env });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

describe("the README's examples", () => {
  it("the CLI answers a query as NDJSON", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        "bin/lakehouse.js",
        "query",
        "SELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region",
        "--format",
        "json",
      ],
      { env },
    );
    expect(
      stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { region: "north", total: 11.75 },
      { region: "south", total: 20 },
    ]);
  });

  it("the TypeScript client prints rows decoded from the Arrow stream", async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "examples/query-client.ts",
        "SELECT region, count(*) AS n FROM sales GROUP BY region ORDER BY region",
      ],
      { env },
    );
    expect(
      stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { region: "north", n: "2" },
      { region: "south", n: "1" },
    ]);
    expect(stderr).toMatch(/read sales at version 1/);
  });

  it("curl with Connect JSON lists datasets when it carries the token, and is refused without", async () => {
    const call = (headers: string[]) =>
      run("curl", [
        "-s",
        "-H",
        "content-type: application/json",
        ...headers,
        "-d",
        "{}",
        `${system.gateway.url.origin}/lakehouse.catalog.v1.CatalogService/ListDatasets`,
      ]);
    const listed = JSON.parse(
      (await call(["-H", `authorization: Bearer ${system.adminToken}`])).stdout,
    );
    expect(listed.datasets.map((d: { name: string }) => d.name)).toEqual(["sales"]);
    const refused = JSON.parse((await call([])).stdout);
    expect(refused.code).toBe("unauthenticated");
  });

  it("buf curl lists the gateway's methods through reflection without a token", async () => {
    const { stdout } = await run("npx", [
      "buf",
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-methods",
      system.gateway.url.origin,
    ]);
    expect(stdout).toContain("lakehouse.query.v1.QueryService/ExecuteQuery");
    expect(stdout).toContain("lakehouse.storage.v1.StorageService/PutObject");
  });
});
