import { describe, expect, it } from "vitest";
import { shortestFloat32 } from "./float32-text.js";

describe("shortestFloat32", () => {
  it("gives the shortest text that is still the same float32, as DuckDB prints FLOAT", () => {
    const cases: [number, string][] = [
      [0.1, "0.1"],
      [-1.17549435e-38, "-1.1754944e-38"],
      [3.4028234663852886e38, "3.4028235e+38"],
      [16777217, "16777216"],
      [0.3, "0.3"],
      [1 / 3, "0.33333334"],
      [0, "0"],
    ];
    for (const [value, text] of cases) {
      const float = Math.fround(value);
      const shortest = shortestFloat32(float);
      expect(String(shortest), String(value)).toBe(text);
      expect(Math.fround(shortest)).toBe(float);
    }
    expect(Object.is(shortestFloat32(-0), -0)).toBe(true);
    expect(shortestFloat32(Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
    expect(shortestFloat32(Number.NaN)).toBeNaN();
  });
});
