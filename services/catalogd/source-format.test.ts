import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SourceFormat } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { errorReason } from "../kit/errors.js";
import {
  compressionFromMagic,
  formatFromKey,
  formatFromMagic,
  resolveSourceFormat,
} from "./source-format.js";

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "catalogd-format-"));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("source format detection", () => {
  it("recognises Parquet, Arrow file and Arrow stream by their first bytes", () => {
    expect(formatFromMagic(Buffer.from("PAR1\x15\x04"))).toBe(SourceFormat.PARQUET);
    expect(formatFromMagic(Buffer.from("ARROW1\0\0"))).toBe(SourceFormat.ARROW_IPC);
    expect(formatFromMagic(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0]))).toBe(
      SourceFormat.ARROW_IPC,
    );
    expect(formatFromMagic(Buffer.from("id,name\n"))).toBeUndefined();
    expect(formatFromMagic(new Uint8Array())).toBeUndefined();
  });

  it("recognises text formats by the key's extension, case-insensitively", () => {
    expect(formatFromKey("a/b.csv")).toBe(SourceFormat.CSV);
    expect(formatFromKey("a/b.JSON")).toBe(SourceFormat.JSON);
    expect(formatFromKey("b.ndjson")).toBe(SourceFormat.JSON);
    expect(formatFromKey("b.jsonl")).toBe(SourceFormat.JSON);
    expect(formatFromKey("b.arrows")).toBe(SourceFormat.ARROW_IPC);
    expect(formatFromKey("dir.csv/file")).toBeUndefined();
    expect(formatFromKey(".csv")).toBeUndefined();
  });

  it("reads tab-separated keys as CSV and skips a trailing .gz or .zst", () => {
    expect(formatFromKey("dim.tsv")).toBe(SourceFormat.CSV);
    expect(formatFromKey("dim.TAB")).toBe(SourceFormat.CSV);
    expect(formatFromKey("a/dim.csv.gz")).toBe(SourceFormat.CSV);
    expect(formatFromKey("dim.tsv.zst")).toBe(SourceFormat.CSV);
    expect(formatFromKey("events.ndjson.GZ")).toBe(SourceFormat.JSON);
    expect(formatFromKey("dim.gz")).toBeUndefined();
    expect(formatFromKey(".csv.gz")).toBeUndefined();
  });

  it("recognises gzip and zstd by their first bytes, whatever the name", () => {
    expect(compressionFromMagic(gzipSync("id\n1\n"))).toBe("gzip");
    expect(compressionFromMagic(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04]))).toBe("zstd");
    expect(compressionFromMagic(Buffer.from("id,name\n"))).toBe("uncompressed");
    expect(compressionFromMagic(Buffer.from([0x1f]))).toBe("uncompressed");
  });

  it("detects a gzip CSV from its key even though its bytes are compressed", async () => {
    const path = join(directory, "gz");
    await writeFile(path, gzipSync("id\n1\n"));
    expect(await resolveSourceFormat(SourceFormat.UNSPECIFIED, path, "dim.csv.gz")).toBe(
      SourceFormat.CSV,
    );
  });

  it("refuses Parquet or Arrow compressed as a whole file with UNKNOWN_FORMAT saying so", async () => {
    const path = join(directory, "compressed-binary");
    await writeFile(path, gzipSync("PAR1 and then some"));
    for (const [declared, key] of [
      [SourceFormat.UNSPECIFIED, "facts.parquet.gz"],
      [SourceFormat.PARQUET, "facts.gz"],
      [SourceFormat.ARROW_IPC, "facts.arrow.gz"],
    ] as const) {
      const error = await resolveSourceFormat(declared, path, key).catch((e: unknown) =>
        ConnectError.from(e),
      );
      expect((error as ConnectError).code, key).toBe(Code.InvalidArgument);
      expect(errorReason(error), key).toBe("UNKNOWN_FORMAT");
      expect((error as ConnectError).rawMessage, key).toContain("compressed as a whole file");
    }
  });

  it("trusts magic bytes over the extension and a declared format over both", async () => {
    const path = join(directory, "x");
    await writeFile(path, "PAR1 and then some");
    expect(await resolveSourceFormat(SourceFormat.UNSPECIFIED, path, "misnamed.csv")).toBe(
      SourceFormat.PARQUET,
    );
    expect(await resolveSourceFormat(SourceFormat.JSON, path, "misnamed.csv")).toBe(
      SourceFormat.JSON,
    );
  });

  it("fails with INVALID_ARGUMENT UNKNOWN_FORMAT when nothing tells the format", async () => {
    const path = join(directory, "y");
    await writeFile(path, "hello");
    const error = await resolveSourceFormat(SourceFormat.UNSPECIFIED, path, "data.bin").catch(
      (e: unknown) => ConnectError.from(e),
    );
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe("UNKNOWN_FORMAT");
  });
});
