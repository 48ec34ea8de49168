import { Code, type HandlerContext } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";
import {
  type CallerIdentity,
  callingServiceKey,
  requireIdentity,
} from "../kit/identity/caller-identity.js";
import { isDatasetGranted, requireDatasetGrant } from "../kit/identity/dataset-grants.js";
import { CATALOG_PREFIX, DATA_ROOT, datasetOfKey } from "../kit/storage-layout.js";

/**
 * The end user of a call that came in through the gateway, or undefined for
 * a call between services. Storage scopes let a user reach objects by key;
 * the checks below keep such calls out of what belongs to the catalog, so
 * dataset grants cannot be bypassed one level down.
 */
export function publicCaller(context: HandlerContext): CallerIdentity | undefined {
  if (context.values.get(callingServiceKey) !== "gateway") return undefined;
  return requireIdentity(context.values);
}

/**
 * Whether a public caller may read `key`: a dataset's files need a grant for
 * that dataset, the catalog's own objects the `admin` scope.
 */
export function mayRead(caller: CallerIdentity, key: string): boolean {
  if (key.startsWith(CATALOG_PREFIX)) return caller.scopes.includes("admin");
  const dataset = datasetOfKey(key);
  return dataset === undefined || isDatasetGranted(caller.datasets, dataset);
}

/**
 * Refuses a public read (GetObject, HeadObject) of a key the caller may not
 * see; the refusal is the same whether or not the object exists.
 *
 * @throws PERMISSION_DENIED, reason DATASET_NOT_GRANTED or RESERVED_KEY.
 */
export function checkPublicRead(caller: CallerIdentity, key: string): void {
  const dataset = datasetOfKey(key);
  if (dataset !== undefined) requireDatasetGrant(caller, dataset);
  else if (!mayRead(caller, key)) throw reserved(key, "reading it needs the admin scope");
}

/**
 * Refuses a public write (PutObject, DeleteObject) into the catalog's areas:
 * a changed manifest or a deleted data file would corrupt snapshots, so only
 * catalogd and queryd write there (CommitSnapshot, IngestObject,
 * DeleteDataset, ExpireSnapshots).
 *
 * @throws PERMISSION_DENIED, reason RESERVED_KEY.
 */
export function checkPublicWrite(key: string): void {
  if (key.startsWith(CATALOG_PREFIX) || key.startsWith(DATA_ROOT)) {
    throw reserved(key, "it is written only through the catalog");
  }
}

/**
 * Refuses a public listing of a prefix that lies wholly inside an area the
 * caller may not read; a wider prefix is listed with those keys left out.
 *
 * @throws PERMISSION_DENIED, reason DATASET_NOT_GRANTED or RESERVED_KEY.
 */
export function checkPublicPrefix(caller: CallerIdentity, prefix: string): void {
  if (prefix.startsWith(CATALOG_PREFIX) || datasetOfKey(prefix) !== undefined) {
    checkPublicRead(caller, prefix);
  }
}

function reserved(key: string, why: string) {
  return serviceError(
    Code.PermissionDenied,
    "RESERVED_KEY",
    `"${key}" belongs to the catalog: ${why}`,
    { key },
  );
}
