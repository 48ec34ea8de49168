import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";

/**
 * Runs `work` with a fresh directory under the work directory and removes it afterwards,
 * whatever happens: catalogd's only local state is such short-lived files.
 */
export async function withTempDirectory<T>(
  workDirectory: string,
  work: (directory: string) => Promise<T>,
): Promise<T> {
  await mkdir(workDirectory, { recursive: true });
  const directory = await mkdtemp(join(workDirectory, "op-"));
  try {
    return await work(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
