import { randomBytes } from "node:crypto";
import { readdir, unlink } from "node:fs/promises";
import path from "node:path";
import { TEMP_SUFFIX } from "./object-key.js";

/**
 * A fresh temp file name: hidden, random, and ending in the reserved suffix
 * no key segment may carry, so it never collides with an object and a sweep
 * can tell it apart.
 */
export function tempFileName(): string {
  return `.${randomBytes(12).toString("hex")}${TEMP_SUFFIX}`;
}

/**
 * Removes every temp file under `directory`, recursively, never following
 * symlinks: what a crashed write left behind is garbage, never an object.
 */
export async function sweepTempFiles(directory: string): Promise<void> {
  const entries = await readdir(directory, { withFileTypes: true });
  for (const entry of entries) {
    const entryPath = path.join(directory, entry.name);
    if (entry.isDirectory()) await sweepTempFiles(entryPath);
    else if (entry.isFile() && entry.name.endsWith(TEMP_SUFFIX)) {
      await unlink(entryPath).catch(() => undefined);
    }
  }
}
