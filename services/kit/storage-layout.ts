/**
 * The two areas of the object store that belong to the catalog rather than
 * to whoever holds storage scopes: catalogd writes both, and storaged keeps
 * calls from the gateway out of them (services/storaged/public-access.ts).
 *
 * - `_catalog/`: dataset records, manifests, hints and idempotency markers.
 * - `datasets/<name>/`: the data files ingest and query results write for
 *   dataset `<name>`, under `datasets/<name>/data/`.
 */
export const CATALOG_PREFIX = "_catalog/";

/** Where data files live: each dataset's own folder below it. */
export const DATA_ROOT = "datasets/";

/** The prefix under which ingest writes a dataset's converted data files. */
export function dataPrefix(name: string): string {
  return `${DATA_ROOT}${name}/data/`;
}

/** The dataset whose folder holds `key` (`datasets/<name>/...`), if any. */
export function datasetOfKey(key: string): string | undefined {
  if (!key.startsWith(DATA_ROOT)) return undefined;
  const end = key.indexOf("/", DATA_ROOT.length);
  return end === -1 ? undefined : key.slice(DATA_ROOT.length, end);
}
