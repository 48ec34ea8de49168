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

  it("bounds the sum of weights, keeps no entry heavier than the capacity and counts a replaced entry once", () => {
    const cache = createLruCache<string, number>(10);
    cache.set("a", 1, 4);
    cache.set("b", 2, 4);
    expect(cache.get("a")).toBe(1);
    cache.set("c", 3, 4);
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([1, undefined, 3]);
    cache.set("huge", 4, 11);
    expect([cache.get("huge"), cache.get("a"), cache.get("c")]).toEqual([undefined, 1, 3]);
    cache.set("a", 5, 6);
    expect([cache.get("a"), cache.get("c")]).toEqual([5, 3]);
    cache.set("d", 6, 1);
    expect([cache.get("a"), cache.get("c"), cache.get("d")]).toEqual([undefined, 3, 6]);
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
