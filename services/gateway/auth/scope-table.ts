import { Code } from "@connectrpc/connect";
import { serviceError } from "../../kit/errors.js";
import type { CallerIdentity } from "../../kit/identity/caller-identity.js";

/** Every scope a token may hold; docs/security.md says what each one opens. */
export const allScopes = [
  "storage.read",
  "storage.write",
  "catalog.read",
  "catalog.write",
  "query",
  "ai",
  "admin",
] as const;

/** One scope. */
export type Scope = (typeof allScopes)[number];

/**
 * The scopes each public RPC needs, all of them, keyed `package.Service/Method`.
 * The one table of authorization at the edge; an RPC missing here is refused
 * (default deny), and a test fails when a method of the contracts has no entry.
 */
export const scopeTable: Readonly<Record<string, readonly Scope[]>> = {
  "lakehouse.storage.v1.StorageService/PutObject": ["storage.write"],
  "lakehouse.storage.v1.StorageService/GetObject": ["storage.read"],
  "lakehouse.storage.v1.StorageService/HeadObject": ["storage.read"],
  "lakehouse.storage.v1.StorageService/ListObjects": ["storage.read"],
  "lakehouse.storage.v1.StorageService/DeleteObject": ["storage.write"],

  "lakehouse.catalog.v1.CatalogService/CreateDataset": ["catalog.write"],
  "lakehouse.catalog.v1.CatalogService/GetDataset": ["catalog.read"],
  "lakehouse.catalog.v1.CatalogService/ListDatasets": ["catalog.read"],
  "lakehouse.catalog.v1.CatalogService/ListSnapshots": ["catalog.read"],
  "lakehouse.catalog.v1.CatalogService/DiffSnapshots": ["catalog.read"],
  "lakehouse.catalog.v1.CatalogService/CommitSnapshot": ["catalog.write"],
  "lakehouse.catalog.v1.CatalogService/IngestObject": ["catalog.write"],
  "lakehouse.catalog.v1.CatalogService/DeleteDataset": ["admin"],
  "lakehouse.catalog.v1.CatalogService/ExpireSnapshots": ["admin"],

  "lakehouse.query.v1.QueryService/ExecuteQuery": ["query"],
  "lakehouse.query.v1.QueryService/ExplainQuery": ["query"],
  "lakehouse.query.v1.QueryService/WriteQueryResult": ["query", "catalog.write"],

  "lakehouse.ai.v1.AiService/Embed": ["ai"],
  "lakehouse.ai.v1.AiService/Generate": ["ai"],
  "lakehouse.ai.v1.AiService/Rerank": ["ai"],
  "lakehouse.ai.v1.AiService/ListModels": ["ai"],
  "lakehouse.ai.v1.AiService/BuildSearchIndex": ["ai", "catalog.write"],
  "lakehouse.ai.v1.AiService/SearchDataset": ["ai"],
  "lakehouse.ai.v1.AiService/AskQuestion": ["ai", "query"],
};

/**
 * Lets a call through when the caller holds every scope its RPC needs.
 *
 * @throws ConnectError PERMISSION_DENIED, reason `SCOPE_MISSING` (naming the
 * scopes needed) or `METHOD_NOT_MAPPED` for an RPC the table does not list.
 */
export function requireScopes(identity: CallerIdentity, service: string, method: string): void {
  const procedure = `${service}/${method}`;
  const needed = scopeTable[procedure];
  if (needed === undefined) {
    throw serviceError(
      Code.PermissionDenied,
      "METHOD_NOT_MAPPED",
      `${procedure} is not open to any scope`,
      { procedure },
    );
  }
  const missing = needed.filter((scope) => !identity.scopes.includes(scope));
  if (missing.length > 0) {
    throw serviceError(
      Code.PermissionDenied,
      "SCOPE_MISSING",
      `${procedure} needs scope ${needed.join(" and ")}`,
      { procedure, required: needed.join(" ") },
    );
  }
}
