import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putObject } from "../services/storaged/client.js";
import { gatewayClients } from "./support/gateway-clients.js";
import { type RunningSystem, startSystem } from "./support/system.js";

const writers = 16;
const appendsPerWriter = 50;

let system: RunningSystem;
let parquet: Uint8Array;

beforeAll(async () => {
  const file = join(mkdtempSync(join(tmpdir(), "commits-")), "one.parquet");
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  await connection.run(`COPY (SELECT 1::BIGINT AS id, 'x' AS tag) TO '${file}' (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
  parquet = readFileSync(file);
  system = await startSystem();
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

describe("concurrent commits through the gateway", () => {
  it(`keeps every file of ${writers} writers × ${appendsPerWriter} appends, with contiguous versions`, async () => {
    const { storage, catalog } = gatewayClients(system.gateway.url);
    await catalog.createDataset({ name: "events" });
    const keys = Array.from({ length: writers }, (_, w) =>
      Array.from({ length: appendsPerWriter }, (_, j) => `uploads/events/w${w}/f${j}.parquet`),
    );
    await Promise.all(
      keys.map(async (own) => {
        for (const key of own) await putObject(storage, key, parquet);
      }),
    );
    await Promise.all(
      keys.map(async (own) => {
        for (const key of own) await catalog.commitSnapshot({ dataset: "events", addFiles: [key] });
      }),
    );

    const { dataset } = await catalog.getDataset({ name: "events" });
    const committed = dataset?.snapshot?.files.map((f) => f.key) ?? [];
    expect(committed.length).toBe(writers * appendsPerWriter);
    expect(new Set(committed)).toEqual(new Set(keys.flat()));
    expect(dataset?.snapshot?.rowCount).toBe(BigInt(writers * appendsPerWriter));

    const versions: bigint[] = [];
    let pageToken = "";
    do {
      const page = await catalog.listSnapshots({ dataset: "events", pageSize: 1000, pageToken });
      versions.push(...page.snapshots.map((s) => s.version));
      pageToken = page.nextPageToken;
    } while (pageToken);
    const expected = Array.from({ length: writers * appendsPerWriter }, (_, i) =>
      BigInt(writers * appendsPerWriter - i),
    );
    expect(versions).toEqual(expected);
  }, 600_000);
});
