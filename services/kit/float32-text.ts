/**
 * The number with the shortest decimal text that is still the same 32-bit
 * float, so a FLOAT 0.1 reads `0.1` as DuckDB prints it rather than the
 * widened double `0.10000000149011612`. Non-finite values come back as is.
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  // Nine significant digits always identify a float32.
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}
