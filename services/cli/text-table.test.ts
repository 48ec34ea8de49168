import { describe, expect, it } from "vitest";
import { renderTable } from "./text-table.js";

describe("renderTable", () => {
  it("aligns columns under a header and a rule, numbers to the right, no trailing spaces", () => {
    const text = renderTable(
      [{ header: "NAME" }, { header: "ROWS", align: "right" }, { header: "NOTE" }],
      [
        ["sales", "1000", ""],
        ["événements", "3", "ok"],
      ],
    );
    expect(text).toBe(
      [
        "NAME        ROWS  NOTE",
        "----------  ----  ----",
        "sales       1000",
        "événements     3  ok",
        "",
      ].join("\n"),
    );
  });

  it("keeps one row on one line by escaping control characters", () => {
    expect(renderTable([{ header: "V" }], [["a\nb\tc"]])).toBe("V\n-------\na\\nb\\tc\n");
  });
});
