import type { ContextValues } from "@connectrpc/connect";
import { identityOf } from "../kit/identity/caller-identity.js";
import { isDatasetGranted, requireDatasetGrant } from "../kit/identity/dataset-grants.js";

/**
 * The one place aibridge checks a caller's dataset grants, before it reads a
 * dataset on the caller's behalf (search, index building, the schemas shown
 * to a model). queryd and catalogd check again on every hop, as the caller's
 * identity travels with aibridge's calls. A server run without authentication
 * carries no identity, and then no grants apply.
 *
 * @throws PERMISSION_DENIED (DATASET_NOT_GRANTED).
 */
export function checkDatasetGrant(values: ContextValues, dataset: string): void {
  const identity = identityOf(values);
  if (identity !== undefined) requireDatasetGrant(identity, dataset);
}

/** Keeps the datasets the caller may read, for prompts that list schemas. */
export function grantedDatasets(values: ContextValues, datasets: readonly string[]): string[] {
  const identity = identityOf(values);
  if (identity === undefined) return [...datasets];
  return datasets.filter((name) => isDatasetGranted(identity.datasets, name));
}
