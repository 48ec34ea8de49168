import { describe, expect, it } from "vitest";
import { createOriginMatcher, isOriginPattern } from "./allowed-origins.js";

describe("allowed origins", () => {
  it("accepts *, exact origins and any-port origins as patterns, nothing else", () => {
    for (const good of ["*", "https://a.example", "http://localhost:8080", "http://[::1]:*"]) {
      expect(isOriginPattern(good)).toBe(true);
    }
    for (const bad of ["", "a.example", "https://a.example/", "https://*.example", "file://x"]) {
      expect(isOriginPattern(bad)).toBe(false);
    }
  });

  it("matches exact origins exactly, ignoring case", () => {
    const allows = createOriginMatcher(["https://Console.example.com"]);
    expect(allows("https://console.example.com")).toBe(true);
    expect(allows("http://console.example.com")).toBe(false);
    expect(allows("https://console.example.com:8443")).toBe(false);
    expect(allows("https://console.example.com.evil.example")).toBe(false);
  });

  it("matches any port, or none, for a :* entry and only on that host and scheme", () => {
    const allows = createOriginMatcher(["http://localhost:*", "http://[::1]:*"]);
    expect(allows("http://localhost:5173")).toBe(true);
    expect(allows("http://localhost")).toBe(true);
    expect(allows("http://[::1]:3000")).toBe(true);
    expect(allows("https://localhost:5173")).toBe(false);
    expect(allows("http://localhost.evil.example:5173")).toBe(false);
    expect(allows("null")).toBe(false);
  });

  it("matches every origin for *", () => {
    const allows = createOriginMatcher(["*"]);
    expect(allows("https://anything.example")).toBe(true);
  });
});
