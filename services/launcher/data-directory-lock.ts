import { rmSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The lock file's name inside the data directory. */
const LOCK_FILE = "launcher.lock";

/** A held lock; `release` removes it, as the process's exit does. */
export interface DataDirectoryLock {
  release(): Promise<void>;
}

/**
 * Claims the data directory for this launcher, so a second `npm start` on the
 * same data fails at once instead of sharing (and sweeping) the first one's
 * work files. The lock holds the owner's pid; one whose process is gone is
 * taken over.
 *
 * @throws Error naming the running owner when another launcher holds it.
 */
export async function lockDataDirectory(dataDirectory: string): Promise<DataDirectoryLock> {
  await mkdir(dataDirectory, { recursive: true });
  const file = join(dataDirectory, LOCK_FILE);
  for (;;) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx" });
      // However the process ends short of SIGKILL (whose lock the next start takes over).
      const onExit = () => rmSync(file, { force: true });
      process.once("exit", onExit);
      return {
        async release() {
          process.removeListener("exit", onExit);
          await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
    if (Number.isInteger(owner) && owner > 0 && isRunning(owner)) {
      throw new Error(
        `another lakehouse (pid ${owner}) is running on ${dataDirectory}; stop it first or give this one another launcher.dataDirectory`,
      );
    }
    await rm(file, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
