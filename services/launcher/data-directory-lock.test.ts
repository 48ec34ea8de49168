import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockDataDirectory } from "./data-directory-lock.js";

describe("lockDataDirectory", () => {
  it("lets one launcher at a time use a data directory, and a dead one's lock be taken over", async () => {
    const directory = mkdtempSync(join(tmpdir(), "lock-"));
    const first = await lockDataDirectory(directory);
    expect(readFileSync(join(directory, "launcher.lock"), "utf8")).toBe(`${process.pid}\n`);
    await expect(lockDataDirectory(directory)).rejects.toThrow(
      `another lakehouse (pid ${process.pid}) is running on ${directory}`,
    );
    await first.release();
    const second = await lockDataDirectory(directory);
    await second.release();

    // A pid no process has (above the kernel's pid_max) stands for an owner that died.
    writeFileSync(join(directory, "launcher.lock"), "4194305\n");
    const taken = await lockDataDirectory(directory);
    expect(readFileSync(join(directory, "launcher.lock"), "utf8")).toBe(`${process.pid}\n`);
    await taken.release();
  });
});
