import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { createCatalogService } from "../catalogd/catalog-service.js";
import { type CatalogFixture, startCatalogFixture } from "../catalogd/testing/catalog-fixture.js";
import { putObject } from "../storaged/client.js";
import { runCli } from "./cli-program.js";
import { type RoutesServer, startRoutesServer } from "./testing/routes-server.js";
import { testContext } from "./testing/test-context.js";

/** `lakehouse expire` against the real catalog service on a real gRPC server on port 0. */
describe("lakehouse expire", () => {
  let fx: CatalogFixture;
  let server: RoutesServer;

  beforeAll(async () => {
    fx = await startCatalogFixture();
    const service = createCatalogService({
      storage: fx.storage,
      workDirectory: fx.workDirectory,
      duckdb: fx.duckdb,
    });
    server = await startRoutesServer((router) => router.service(CatalogService, service));
  });

  afterAll(async () => {
    await server.close();
    await fx.close();
  });

  async function cli(args: string[]) {
    const context = testContext({});
    const code = await runCli([...args, "--url", server.url], context);
    return { code, text: context.stdout.text(), stderr: context.stderr.text() };
  }

  it("keeps the newest N snapshots and prints what it expired and deleted", async () => {
    for (const value of [1, 2, 3]) {
      await putObject(fx.storage, `uploads/trim-${value}.csv`, Buffer.from(`v\n${value}\n`));
      await fx.catalog.ingestObject({
        dataset: "trimmed",
        sourceKey: `uploads/trim-${value}.csv`,
        replaceAll: true,
        createIfMissing: true,
      });
    }

    // Named in another letter case: the dataset, and the output, are `trimmed`.
    const run = await cli(["expire", "Trimmed", "--keep-last", "1"]);
    expect(run).toEqual({
      code: 0,
      text: "dataset        trimmed\nexpired        2 snapshots (versions 1 to 2)\ndeleted files  2\n",
      stderr: "",
    });
    const files = await fx.storage.listObjects({ prefix: "datasets/trimmed/data/" });
    expect(files.objects).toHaveLength(1);

    const again = await cli(["expire", "trimmed", "--keep-last", "1", "--json"]);
    expect(JSON.parse(again.text)).toEqual({ expiredVersions: [], deletedFiles: "0" });
  });

  it("refuses a missing or zero --keep-last as a usage error (exit 2)", async () => {
    for (const args of [
      ["expire", "trimmed"],
      ["expire", "trimmed", "--keep-last", "0"],
    ]) {
      const run = await cli(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^error: usage: .*keep-last/);
    }
  });
});
