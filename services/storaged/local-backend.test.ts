import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Code } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalBackend } from "./local-backend.js";
import type { ObjectBackend } from "./object-backend.js";
import { TEMP_SUFFIX } from "./object-key.js";
import { BAD_KEYS } from "./testing/bad-keys.js";
import { collect, expectCode, streamOf } from "./testing/object-test-helpers.js";

/** Every path under `directory`, relative, symlinks not followed. */
async function walk(directory: string, base = directory): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    out.push(path.relative(base, full));
    if (entry.isDirectory()) out.push(...(await walk(full, base)));
  }
  return out.sort();
}

describe("local backend on disk", () => {
  let sandbox: string;
  let root: string;
  let outside: string;
  let backend: ObjectBackend;

  beforeEach(async () => {
    sandbox = await mkdtemp(path.join(tmpdir(), "storaged-disk-"));
    root = path.join(sandbox, "root");
    outside = path.join(sandbox, "outside");
    await mkdir(outside);
    await writeFile(path.join(outside, "secret"), "top secret");
    backend = await createLocalBackend({ root });
  });
  afterEach(async () => {
    await backend.close();
    await rm(sandbox, { recursive: true, force: true });
  });

  it("stores one file per object at <root>/<key>, body first", async () => {
    await backend.put("a/b.txt", streamOf(Buffer.from("hello")));
    const file = await readFile(path.join(root, "a", "b.txt"));
    expect(file.subarray(0, 5).toString()).toBe("hello");
    expect(await walk(root)).toEqual(["a", path.join("a", "b.txt")]);
  });

  it("never reads, lists, writes or deletes through a symlinked directory pointing out of root", async () => {
    await symlink(outside, path.join(root, "link"));
    await expectCode(backend.get("link/secret"), Code.NotFound);
    await expectCode(backend.head("link/secret"), Code.NotFound);
    await expectCode(backend.put("link/new", streamOf(Buffer.from("x"))), Code.InvalidArgument);
    await expectCode(
      backend.put("link/deeper/new", streamOf(Buffer.from("x"))),
      Code.InvalidArgument,
    );
    expect(await backend.delete("link/secret")).toBe(false);
    expect((await backend.list("link/", 100, "")).objects).toEqual([]);
    expect((await backend.list("", 100, "")).objects).toEqual([]);
    expect(await readdir(outside)).toEqual(["secret"]);
    expect(await readFile(path.join(outside, "secret"), "utf8")).toBe("top secret");
  });

  it("never reads through a symlinked file and replaces the link, not its target, on write", async () => {
    await symlink(path.join(outside, "secret"), path.join(root, "file-link"));
    await expectCode(backend.get("file-link"), Code.NotFound);
    await backend.put("file-link", streamOf(Buffer.from("mine")));
    expect((await collect((await backend.get("file-link")).body)).toString()).toBe("mine");
    expect(await readFile(path.join(outside, "secret"), "utf8")).toBe("top secret");
  });

  it("refuses every bad key and leaves nothing on disk, inside or outside root", async () => {
    for (const key of Object.values(BAD_KEYS)) {
      await expectCode(
        backend.put(key, streamOf(Buffer.from("x"))),
        Code.InvalidArgument,
        "INVALID_KEY",
      );
      await expectCode(backend.get(key), Code.InvalidArgument, "INVALID_KEY");
      await expectCode(backend.head(key), Code.InvalidArgument, "INVALID_KEY");
      await expectCode(backend.delete(key), Code.InvalidArgument, "INVALID_KEY");
    }
    expect(await walk(root)).toEqual([]);
    expect(await walk(sandbox)).toEqual(["outside", path.join("outside", "secret"), "root"]);
  });

  it("sweeps temp files left by a crash when it opens, keeping objects", async () => {
    await backend.put("keep/obj", streamOf(Buffer.from("kept")));
    await writeFile(path.join(root, "keep", `.crashed${TEMP_SUFFIX}`), "partial");
    await writeFile(path.join(root, `.other${TEMP_SUFFIX}`), "partial");
    expect((await backend.list("", 10, "")).objects.map((o) => o.key)).toEqual(["keep/obj"]);
    const reopened = await createLocalBackend({ root });
    expect(await walk(root)).toEqual(["keep", path.join("keep", "obj")]);
    expect((await collect((await reopened.get("keep/obj")).body)).toString()).toBe("kept");
  });

  it("refuses a key that is a directory of another key, either way round, with KEY_CONFLICT", async () => {
    await backend.put("k/a", streamOf(Buffer.from("x")));
    await expectCode(
      backend.put("k", streamOf(Buffer.from("y"))),
      Code.FailedPrecondition,
      "KEY_CONFLICT",
    );
    await expectCode(
      backend.put("k", streamOf(Buffer.from("y")), { ifNoneMatch: true }),
      Code.FailedPrecondition,
      "KEY_CONFLICT",
    );
    await expectCode(
      backend.put("k/a/b", streamOf(Buffer.from("y"))),
      Code.FailedPrecondition,
      "KEY_CONFLICT",
    );
    await expectCode(backend.get("k"), Code.NotFound);
    expect(await walk(root)).toEqual(["k", path.join("k", "a")]);
  });

  it("removes directories left empty by a delete", async () => {
    await backend.put("d/e/f", streamOf(Buffer.from("x")));
    await backend.put("d/g", streamOf(Buffer.from("x")));
    expect(await backend.delete("d/e/f")).toBe(true);
    expect(await walk(root)).toEqual(["d", path.join("d", "g")]);
    expect(await backend.delete("d/g")).toBe(true);
    expect(await walk(root)).toEqual([]);
  });

  it("leaves no folder behind when the first write under a new prefix breaks off", async () => {
    await backend.put("kept/a", streamOf(Buffer.from("x")));
    async function* brokenOff(): AsyncGenerator<Uint8Array> {
      yield Buffer.from("partial");
      throw new Error("Premature close");
    }
    await expect(backend.put("uploads/u1/big.csv", brokenOff())).rejects.toThrow();
    await expect(backend.put("kept/b", brokenOff())).rejects.toThrow();
    expect(await walk(root)).toEqual(["kept", path.join("kept", "a")]);
  });

  it("changes the etag on every write, even of identical bytes", async () => {
    const first = await backend.put("same", streamOf(Buffer.from("x")));
    const second = await backend.put("same", streamOf(Buffer.from("x")));
    expect(second.etag).not.toBe(first.etag);
  });

  it("reports a file without a valid trailer as DATA_LOSS", async () => {
    await writeFile(path.join(root, "foreign"), "not an object");
    await expectCode(backend.get("foreign"), Code.DataLoss);
    expect((await stat(path.join(root, "foreign"))).size).toBe(13);
  });
});
