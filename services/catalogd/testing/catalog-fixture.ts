import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Client,
  createClient,
  createRouterTransport,
  type HandlerContext,
} from "@connectrpc/connect";
import { CatalogService } from "../../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { StorageService } from "../../../gen/lakehouse/storage/v1/storage_pb.js";
import { requireIdentity } from "../../kit/identity/caller-identity.js";
import { createInternalAuth } from "../../kit/identity/internal-auth.js";
import type { StorageClient } from "../../storaged/client.js";
import { createLocalBackend } from "../../storaged/local-backend.js";
import { createStorageService } from "../../storaged/storage-service.js";
import { type CatalogDuckDB, openCatalogDuckDB } from "../catalog-duckdb.js";
import { createCatalogService } from "../catalog-service.js";

/** A catalog over the real storage service on a temp directory, for tests. */
export interface CatalogFixture {
  readonly storage: StorageClient;
  readonly catalog: Client<typeof CatalogService>;
  readonly duckdb: CatalogDuckDB;
  /** catalogd's work directory; tests may write fixture files below it. */
  readonly workDirectory: string;
  close(): Promise<void>;
}

/**
 * Starts storaged's real implementation (local backend) and catalogd in memory, wired
 * through connect router transports exactly as over the network, minus the sockets.
 * The author of a commit is read from the `x-author` request header, unless
 * `enforceGrants` wires the catalog as catalogd's main does: internal
 * credentials required, author and dataset grants from the caller's identity
 * (call with `{ contextValues: callingAs(identity) }`).
 */
export async function startCatalogFixture(
  options: { maxCommitAttempts?: number; enforceGrants?: boolean } = {},
): Promise<CatalogFixture> {
  const root = await mkdtemp(join(tmpdir(), "catalogd-test-"));
  const workDirectory = join(root, "work");
  await mkdir(workDirectory, { recursive: true });
  const backend = await createLocalBackend({ root: join(root, "objects") });
  const storageTransport = createRouterTransport((router) => {
    router.service(StorageService, createStorageService(backend));
  });
  const storage = createClient(StorageService, storageTransport);
  const duckdb = await openCatalogDuckDB({ workDirectory });
  const secret = new Uint8Array(randomBytes(32));
  const serverAuth = createInternalAuth({ service: "catalogd", secret });
  const clientAuth = createInternalAuth({ service: "test", secret });
  const identityOptions = options.enforceGrants
    ? {
        authorOf: (context: HandlerContext) => requireIdentity(context.values).subject,
        callerOf: (context: HandlerContext) => requireIdentity(context.values),
      }
    : { authorOf: (context: HandlerContext) => context.requestHeader.get("x-author") ?? "" };
  const catalogTransport = createRouterTransport(
    (router) => {
      router.service(
        CatalogService,
        createCatalogService({
          storage,
          workDirectory,
          duckdb,
          ...identityOptions,
          ...(options.maxCommitAttempts === undefined
            ? {}
            : { maxCommitAttempts: options.maxCommitAttempts }),
        }),
      );
    },
    options.enforceGrants
      ? {
          router: { interceptors: [serverAuth.serverInterceptor] },
          transport: { interceptors: [clientAuth.clientInterceptor] },
        }
      : {},
  );
  return {
    storage,
    catalog: createClient(CatalogService, catalogTransport),
    duckdb,
    workDirectory,
    async close() {
      duckdb.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
