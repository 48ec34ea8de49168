import { Code } from "@connectrpc/connect";
import { serviceError } from "../errors.js";
import type { CallerIdentity } from "./caller-identity.js";

/** A grant: dataset-name characters and `*` (any run of characters), 1–128 long. */
const grantPattern = /^[A-Za-z0-9_*]{1,128}$/;

/** Tells whether `pattern` is a well-formed dataset grant (`sales_*`, `*`, `orders`). */
export function isGrantPattern(pattern: string): boolean {
  return grantPattern.test(pattern);
}

/**
 * Tells whether any grant covers `dataset`. `*` matches any run of
 * characters, the rest matches letter for letter, ignoring case as dataset
 * names do; malformed patterns match nothing, so a typo never widens access.
 */
export function isDatasetGranted(grants: readonly string[], dataset: string): boolean {
  const name = dataset.toLowerCase();
  return grants.some(
    (pattern) => isGrantPattern(pattern) && globMatches(pattern.toLowerCase(), name),
  );
}

function globMatches(pattern: string, name: string): boolean {
  const parts = pattern.split("*");
  const first = parts[0] ?? "";
  const last = parts[parts.length - 1] ?? "";
  if (parts.length === 1) return name === pattern;
  if (!name.startsWith(first) || name.length < first.length + last.length) return false;
  if (!name.endsWith(last)) return false;
  let position = first.length;
  const end = name.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, position);
    if (found === -1 || found + middle.length > end) return false;
    position = found + middle.length;
  }
  return true;
}

/**
 * Refuses a call on a dataset the caller holds no grant for. The refusal is
 * the same whether or not the dataset exists, so grants do not reveal names.
 *
 * @throws ConnectError PERMISSION_DENIED (reason `DATASET_NOT_GRANTED`).
 */
export function requireDatasetGrant(identity: CallerIdentity, dataset: string): void {
  if (isDatasetGranted(identity.datasets, dataset)) return;
  throw serviceError(
    Code.PermissionDenied,
    "DATASET_NOT_GRANTED",
    `${identity.subject} holds no grant for dataset ${dataset}`,
    { dataset },
  );
}
