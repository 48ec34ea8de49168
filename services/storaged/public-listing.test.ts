import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { type CallerIdentity, callingAs } from "../kit/identity/caller-identity.js";
import { createInternalAuth } from "../kit/identity/internal-auth.js";
import { putObject, type StorageClient } from "./client.js";
import { createLocalBackend } from "./local-backend.js";
import type { ObjectBackend } from "./object-backend.js";
import { createStorageService } from "./storage-service.js";
import { pageThrough, tokenText } from "./testing/paging.js";

/** Keys an analyst granted `sales_*` and `web_*` (no admin scope) may list through the gateway. */
const VISIBLE = [
  "Reports/q1.csv",
  "a_notes.txt",
  "datasets/sales_eu/data/1.parquet",
  "datasets/sales_eu/data/2.parquet",
  "datasets/web_logs/data/1.parquet",
  "uploads/x.csv",
];
/** Keys in closed areas, sorted in between the visible ones. */
const HIDDEN = [
  "_catalog/datasets/secret_hr.json",
  "_catalog/heads/9f1c7d.json",
  "datasets/hr/data/1.parquet",
  "datasets/secret_hr/data/1.parquet",
  "datasets/secret_hr/data/2.parquet",
  "datasets/zz_audit/data/1.parquet",
];
/** What no token given to the analyst may contain. */
const SECRETS = ["_catalog", "secret_hr", "9f1c7d", "datasets/hr/", "zz_audit"];

const analyst: CallerIdentity = {
  subject: "ana",
  scopes: ["storage.read"],
  datasets: ["sales_*", "web_*"],
};

let root: string;
let backend: ObjectBackend;
let internal: StorageClient;
let viaGateway: StorageClient;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "storaged-public-list-"));
  backend = await createLocalBackend({ root });
  const secret = new Uint8Array(randomBytes(32));
  const server = createInternalAuth({ service: "storaged", secret });
  const clientFor = (service: string) =>
    createClient(
      StorageService,
      createRouterTransport(
        (router) => {
          router.service(StorageService, createStorageService(backend));
        },
        {
          router: { interceptors: [server.serverInterceptor] },
          transport: {
            interceptors: [createInternalAuth({ service, secret }).clientInterceptor],
          },
        },
      ),
    );
  internal = clientFor("catalogd");
  viaGateway = clientFor("gateway");
  for (const key of [...VISIBLE, ...HIDDEN]) await putObject(internal, key, Buffer.from(key));
});

afterAll(async () => {
  await backend.close();
  await rm(root, { recursive: true, force: true });
});

describe("ListObjects through the gateway with keys in closed areas", () => {
  for (const [prefix, pageSize] of [
    ["", 1],
    ["", 2],
    ["", 4],
    ["datasets/", 1],
    ["datasets/", 3],
  ] as const) {
    it(`gives tokens that name no hidden key and full pages of exactly the visible keys (prefix "${prefix}", page size ${pageSize})`, async () => {
      const pages = await pageThrough(async (pageToken) => {
        const page = await viaGateway.listObjects(
          { prefix, pageSize, pageToken },
          { contextValues: callingAs(analyst) },
        );
        return { names: page.objects.map((o) => o.key), nextPageToken: page.nextPageToken };
      });
      for (const { nextPageToken } of pages) {
        const text = tokenText(nextPageToken);
        for (const secret of SECRETS) expect(text).not.toContain(secret);
      }
      expect(pages.flatMap((p) => p.names)).toEqual(VISIBLE.filter((k) => k.startsWith(prefix)));
      // Only the last page may be short: an empty page is the end of the listing.
      for (const page of pages.slice(0, -1)) expect(page.names).toHaveLength(pageSize);
      expect(pages.at(-1)?.nextPageToken).toBe("");
    });
  }
});
