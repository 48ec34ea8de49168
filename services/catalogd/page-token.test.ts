import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { errorReason } from "../kit/errors.js";
import { decodePageToken, encodePageToken, resolvePageSize } from "./page-token.js";

function reasonOf(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
    return errorReason(error);
  }
  return "no error";
}

describe("page tokens and sizes", () => {
  it("round-trips a position within its scope", () => {
    const token = encodePageToken("snapshots:abc", "42");
    expect(decodePageToken("snapshots:abc", token)).toBe("42");
    expect(decodePageToken("snapshots:abc", "")).toBe("");
  });

  it("refuses a token of another scope or a malformed one", () => {
    const token = encodePageToken("snapshots:abc", "42");
    expect(reasonOf(() => decodePageToken("snapshots:def", token))).toBe("INVALID_PAGE_TOKEN");
    expect(reasonOf(() => decodePageToken("datasets", "%%%"))).toBe("INVALID_PAGE_TOKEN");
    expect(reasonOf(() => decodePageToken("datasets", "bm90IGpzb24"))).toBe("INVALID_PAGE_TOKEN");
  });

  it("maps 0 to 100, keeps 1 to 1000 and refuses the rest", () => {
    expect(resolvePageSize(0)).toBe(100);
    expect(resolvePageSize(1)).toBe(1);
    expect(resolvePageSize(1000)).toBe(1000);
    expect(reasonOf(() => resolvePageSize(1001))).toBe("INVALID_PAGE_SIZE");
    expect(reasonOf(() => resolvePageSize(-1))).toBe("INVALID_PAGE_SIZE");
  });
});
