import { randomUUID } from "node:crypto";
import { basename } from "node:path";

/**
 * Where the CLI stages a file before IngestObject: `uploads/<uuid>/<name>`.
 * The catalog owns `_catalog/` and `datasets/`, so `uploads/` never clashes
 * with it, and the UUID keeps concurrent uploads of same-named files apart.
 * The file name is kept (its extension lets the catalog detect the format),
 * with anything outside `[A-Za-z0-9._-]` replaced so every name is a valid key.
 */
export function uploadKey(filePath: string, id: string = randomUUID()): string {
  const name = basename(filePath)
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .slice(-200);
  return `uploads/${id}/${/^\.*$/.test(name) ? "upload" : name}`;
}
