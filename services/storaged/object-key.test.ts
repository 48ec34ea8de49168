import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { compareKeys, validateKey, validatePrefix } from "./object-key.js";
import { BAD_KEYS } from "./testing/bad-keys.js";

function expectInvalidKey(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe("INVALID_KEY");
    return;
  }
  throw new Error("expected INVALID_KEY");
}

describe("validateKey", () => {
  for (const [name, key] of Object.entries(BAD_KEYS)) {
    it(`rejects a key with ${name} as INVALID_KEY`, () => {
      expectInvalidKey(() => validateKey(key));
    });
  }

  it("accepts ordinary keys unchanged, including NFC non-ASCII and 1024 bytes", () => {
    for (const key of [
      "a",
      "a/b/c.parquet",
      "données/été",
      "x".repeat(1024),
      "a/.hidden",
      "a/..b",
    ]) {
      expect(validateKey(key)).toBe(key);
    }
  });

  it("counts the limit in UTF-8 bytes, not characters", () => {
    expectInvalidKey(() => validateKey("é".repeat(513)));
    expect(validateKey("é".repeat(512))).toHaveLength(512);
  });
});

describe("validatePrefix", () => {
  it("accepts empty, a trailing slash and a partial last segment", () => {
    for (const prefix of ["", "a/", "a/b", "a/.", "a/.."])
      expect(validatePrefix(prefix)).toBe(prefix);
  });

  it("rejects traversal, absolute, escaped and control-character prefixes", () => {
    for (const prefix of ["../", "a/../", "/a", "a//", "%2e/", "a\u0000", "e\u0301"]) {
      expectInvalidKey(() => validatePrefix(prefix));
    }
  });
});

describe("compareKeys", () => {
  it("orders by UTF-8 bytes, where UTF-16 order disagrees", () => {
    // U+FF61 is 0xEF.. in UTF-8, U+1F600 is 0xF0..: bytes put the emoji last.
    expect(compareKeys("\uff61", "\u{1f600}")).toBeLessThan(0);
    expect("\uff61" < "\u{1f600}").toBe(false);
  });
});
