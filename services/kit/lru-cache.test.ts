import { describe, expect, it } from "vitest";
import { createLruCache } from "./lru-cache.js";

describe("createLruCache", () => {
  it("forgets the least recently used entry beyond its capacity", () => {
    const cache = createLruCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1);
    cache.set("c", 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.get("c")).toBe(3);
  });

  it("deletes single entries and entries matching a test", () => {
    const cache = createLruCache<string, number>(10);
    for (const key of ["x/1", "x/2", "y/1"]) cache.set(key, 0);
    cache.delete("y/1");
    cache.deleteWhere((key) => key.startsWith("x/"));
    expect(["x/1", "x/2", "y/1"].map((key) => cache.get(key))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});
