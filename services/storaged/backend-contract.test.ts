import { mkdtemp, open as openFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalBackend } from "./local-backend.js";
import type { ObjectBackend } from "./object-backend.js";
import { compareKeys } from "./object-key.js";
import { createS3Backend } from "./s3-backend.js";
import { collect, expectCode, sha256, streamOf, testBytes } from "./testing/object-test-helpers.js";
import { pageThrough, tokenText } from "./testing/paging.js";
import { startS3TestServer } from "./testing/s3-test-server.js";

const MiB = 1024 * 1024;

/** A backend under test plus a way to damage one stored object's bytes. */
interface BackendFixture {
  backend: ObjectBackend;
  /** Flips one byte of the stored body of `key`, behind the backend's back. */
  corrupt(key: string): Promise<void>;
  close(): Promise<void>;
}

async function flipByte(file: string, position: number): Promise<void> {
  const handle = await openFile(file, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, position);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await handle.write(byte, 0, 1, position);
  } finally {
    await handle.close();
  }
}

/** The behaviour every ObjectBackend must have, whatever stores the bytes. */
function describeBackendContract(name: string, openFixture: () => Promise<BackendFixture>) {
  describe(`${name} backend contract`, () => {
    let fixture: BackendFixture;
    let backend: ObjectBackend;
    beforeAll(async () => {
      fixture = await openFixture();
      backend = fixture.backend;
    });
    afterAll(async () => {
      await fixture?.close();
    });

    const put = (key: string, bytes: Uint8Array, options = {}) =>
      backend.put(key, streamOf(bytes), options);
    const readWhole = async (key: string) => collect((await backend.get(key)).body);

    it("stores an object and reads back the same bytes, size, SHA-256 and content type", async () => {
      const bytes = testBytes(300_000, 7);
      const info = await put("rw/one.bin", bytes, { contentType: "application/x-test" });
      expect(info).toMatchObject({
        key: "rw/one.bin",
        size: bytes.length,
        sha256: sha256(bytes),
        contentType: "application/x-test",
      });
      expect(info.etag).not.toBe("");
      const read = await backend.get("rw/one.bin");
      expect(read.info).toMatchObject({
        size: bytes.length,
        sha256: sha256(bytes),
        etag: info.etag,
      });
      expect((await collect(read.body)).equals(bytes)).toBe(true);
      const head = await backend.head("rw/one.bin");
      expect(head).toMatchObject({ key: "rw/one.bin", size: bytes.length, sha256: sha256(bytes) });
      expect(head.etag).toBe(info.etag);
    });

    it("stores an empty object and defaults the content type", async () => {
      const info = await put("rw/empty", new Uint8Array(0));
      expect(info).toMatchObject({ size: 0, contentType: "application/octet-stream" });
      expect((await readWhole("rw/empty")).length).toBe(0);
    });

    it("serves byte ranges, cuts ranges at the end and refuses offsets past it", async () => {
      const bytes = testBytes(10_000, 3);
      await put("range/obj", bytes);
      const slice = async (offset: number, length: number) =>
        collect((await backend.get("range/obj", { offset, length })).body);
      expect((await slice(100, 50)).equals(bytes.subarray(100, 150))).toBe(true);
      expect((await slice(9_990, 100)).equals(bytes.subarray(9_990))).toBe(true);
      expect((await slice(5_000, 0)).equals(bytes.subarray(5_000))).toBe(true);
      expect((await slice(10_000, 0)).length).toBe(0);
      expect((await backend.get("range/obj", { offset: 100, length: 10 })).info.size).toBe(10_000);
      await expectCode(backend.get("range/obj", { offset: 10_001 }), Code.OutOfRange);
    });

    it("answers NOT_FOUND for a missing key on get and head", async () => {
      await expectCode(backend.get("missing/key"), Code.NotFound);
      await expectCode(backend.head("missing/key"), Code.NotFound);
    });

    it("lists keys in ascending UTF-8 byte order across pages with an opaque token", async () => {
      const keys = [
        "l/b",
        "l/a0",
        "l/a/b",
        "l/a-b",
        "l/a.c",
        "l/\u{1f600}",
        "l/é",
        "l/\uff61",
        "l/a/c/d",
      ];
      for (const key of keys) await put(key, Buffer.from(key));
      const expected = [...keys].sort(compareKeys);
      expect(expected).toEqual([
        "l/a-b",
        "l/a.c",
        "l/a/b",
        "l/a/c/d",
        "l/a0",
        "l/b",
        "l/é",
        "l/\uff61",
        "l/\u{1f600}",
      ]);
      const seen: string[] = [];
      let token = "";
      let pages = 0;
      do {
        const page = await backend.list("l/", 2, token);
        expect(page.objects.length).toBeLessThanOrEqual(2);
        seen.push(...page.objects.map((o) => o.key));
        token = page.nextPageToken;
        pages++;
      } while (token !== "" && pages < 20);
      expect(seen).toEqual(expected);
      const partial = await backend.list("l/a", 100, "");
      expect(partial.objects.map((o) => o.key)).toEqual([
        "l/a-b",
        "l/a.c",
        "l/a/b",
        "l/a/c/d",
        "l/a0",
      ]);
      expect(partial.nextPageToken).toBe("");
      const first = partial.objects[0]!;
      expect(first.sha256).toBe(sha256(Buffer.from("l/a-b")));
      expect(first.size).toBe(5);
      await expectCode(
        backend.list("l/", 2, "not a token!"),
        Code.InvalidArgument,
        "INVALID_PAGE_TOKEN",
      );
    });

    it("fills pages with the keys `include` accepts and gives tokens naming none it left out", async () => {
      const shown = ["f/a", "f/c/1", "f/e", "f/g", "f/i"];
      const left = ["f/b-hide", "f/c/0-hide", "f/d-hide/1", "f/d-hide/2", "f/f-hide", "f/h-hide"];
      for (const key of [...shown, ...left]) await put(key, Buffer.from(key));
      const include = (key: string) => !key.includes("hide");
      for (const pageSize of [1, 2, 3]) {
        const pages = await pageThrough(async (token) => {
          const page = await backend.list("f/", pageSize, token, { include });
          return { names: page.objects.map((o) => o.key), nextPageToken: page.nextPageToken };
        });
        for (const page of pages) expect(tokenText(page.nextPageToken)).not.toContain("hide");
        expect(pages.flatMap((p) => p.names)).toEqual(shown);
        for (const page of pages.slice(0, -1)) expect(page.names).toHaveLength(pageSize);
        expect(pages.at(-1)?.nextPageToken).toBe("");
      }
    });

    it("deletes an object once, then reports nothing deleted", async () => {
      await put("del/x", Buffer.from("x"));
      expect(await backend.delete("del/x")).toBe(true);
      await expectCode(backend.head("del/x"), Code.NotFound);
      expect(await backend.delete("del/x")).toBe(false);
    });

    it("deletes with if-match only when the etag still matches", async () => {
      const info = await put("del/cas", Buffer.from("v1"));
      await expectCode(backend.delete("del/cas", { ifMatchEtag: "0123abcd" }), Code.Aborted);
      expect((await readWhole("del/cas")).toString()).toBe("v1");
      expect(await backend.delete("del/cas", { ifMatchEtag: info.etag })).toBe(true);
    });

    it("refuses a create-only write over an existing key with ALREADY_EXISTS", async () => {
      await put("cond/create", Buffer.from("first"), { ifNoneMatch: true });
      await expectCode(
        put("cond/create", Buffer.from("second"), { ifNoneMatch: true }),
        Code.AlreadyExists,
      );
      expect((await readWhole("cond/create")).toString()).toBe("first");
    });

    it("compare-and-swaps with if-match: ABORTED after a change, FAILED_PRECONDITION when absent", async () => {
      const v1 = await put("cond/cas", Buffer.from("v1"));
      const v2 = await put("cond/cas", Buffer.from("v2"), { ifMatchEtag: v1.etag });
      expect(v2.etag).not.toBe(v1.etag);
      await expectCode(put("cond/cas", Buffer.from("v3"), { ifMatchEtag: v1.etag }), Code.Aborted);
      expect((await readWhole("cond/cas")).toString()).toBe("v2");
      await expectCode(
        put("cond/absent", Buffer.from("x"), { ifMatchEtag: v1.etag }),
        Code.FailedPrecondition,
      );
      await expectCode(
        put("cond/both", Buffer.from("x"), { ifMatchEtag: v1.etag, ifNoneMatch: true }),
        Code.InvalidArgument,
      );
    });

    it("lets exactly one of 32 racing create-only writers win", async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 32 }, (_, i) =>
          put("race/commit", Buffer.from(`writer-${i}`), { ifNoneMatch: true }),
        ),
      );
      const winners = results.filter((r) => r.status === "fulfilled");
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === "rejected") {
          await expectCode(Promise.reject(result.reason), Code.AlreadyExists);
        }
      }
      const winner = (winners[0] as PromiseFulfilledResult<{ sha256: string }>).value;
      expect(sha256(await readWhole("race/commit"))).toBe(winner.sha256);
    });

    it("refuses a body whose SHA-256 differs from the expected one and keeps the old version", async () => {
      const old = Buffer.from("old version");
      await put("sha/obj", old);
      const fresh = Buffer.from("new version");
      await expectCode(
        put("sha/obj", fresh, { expectedSha256: sha256(old) }),
        Code.InvalidArgument,
        "CHECKSUM_MISMATCH",
      );
      expect((await readWhole("sha/obj")).equals(old)).toBe(true);
      const ok = await put("sha/obj", fresh, { expectedSha256: sha256(fresh) });
      expect(ok.sha256).toBe(sha256(fresh));
    });

    it("refuses a body larger than maxBytes with RESOURCE_EXHAUSTED and keeps the old version", async () => {
      await put("limit/obj", Buffer.from("small"));
      await expectCode(
        put("limit/obj", testBytes(200_000), { maxBytes: 100_000 }),
        Code.ResourceExhausted,
      );
      expect((await readWhole("limit/obj")).toString()).toBe("small");
    });

    it("keeps the old version when the body stream fails midway", async () => {
      await put("fail/obj", Buffer.from("kept"));
      async function* failing() {
        yield Buffer.from("partial");
        throw new Error("client went away");
      }
      await expect(backend.put("fail/obj", failing())).rejects.toThrow();
      expect((await readWhole("fail/obj")).toString()).toBe("kept");
    });

    it("fails a whole read of corrupted bytes with DATA_LOSS after streaming them", async () => {
      const bytes = testBytes(50_000, 11);
      await put("rot/obj", bytes);
      await fixture.corrupt("rot/obj");
      const read = await backend.get("rot/obj");
      await expectCode(collect(read.body), Code.DataLoss);
      // Range reads are not checksummed: the undamaged tail is still served.
      const tail = await collect((await backend.get("rot/obj", { offset: 40_000 })).body);
      expect(tail.equals(bytes.subarray(40_000))).toBe(true);
    });

    it("round-trips a body larger than one multipart part with the right SHA-256", async () => {
      const bytes = testBytes(11 * MiB, 5);
      const info = await backend.put("big/obj", streamOf(bytes, MiB));
      expect(info).toMatchObject({ size: bytes.length, sha256: sha256(bytes) });
      const read = await backend.get("big/obj");
      expect(read.info.sha256).toBe(sha256(bytes));
      expect(sha256(await collect(read.body))).toBe(sha256(bytes));
    });
  });
}

describeBackendContract("local", async () => {
  const root = await mkdtemp(path.join(tmpdir(), "storaged-local-"));
  const backend = await createLocalBackend({ root });
  return {
    backend,
    corrupt: (key) => flipByte(path.join(root, ...key.split("/")), 10),
    async close() {
      await backend.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describeBackendContract("s3", async () => {
  const server = await startS3TestServer();
  const spoolDirectory = await mkdtemp(path.join(tmpdir(), "storaged-spool-"));
  const prefix = "tenant-a/";
  const backend = await createS3Backend({
    bucket: server.bucket,
    prefix,
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    partSizeBytes: 5 * MiB,
    spoolDirectory,
    maxAttempts: 2,
  });
  return {
    backend,
    corrupt: (key) => flipByte(server.objectFile(prefix + key), 10),
    async close() {
      await backend.close();
      await server.close();
      await rm(spoolDirectory, { recursive: true, force: true });
    },
  };
});
