import { describe, expect, it } from "vitest";
import { csvRecord } from "./csv-record.js";

describe("csvRecord", () => {
  it("ends records with CRLF and leaves plain fields unquoted", () => {
    expect(csvRecord(["a", "12.5", "x y"])).toBe("a,12.5,x y\r\n");
  });

  it("quotes fields holding commas, quotes, CR or LF and doubles the quotes", () => {
    expect(csvRecord(['a, "b"', "line\nbreak", "cr\r"])).toBe(
      '"a, ""b""","line\nbreak","cr\r"\r\n',
    );
  });

  it("keeps NULL (empty) apart from the empty string (quoted)", () => {
    expect(csvRecord([null, "", "x"])).toBe(',"",x\r\n');
  });
});
