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

  it("counts wide characters two columns and combining ones none, as a terminal draws them", () => {
    const text = renderTable(
      [{ header: "NAME" }, { header: "N", align: "right" }],
      [
        ["数量", "1"],
        ["🦆 duck", "2"],
        ["e\u0301te\u0301", "3"],
      ],
    );
    expect(text).toBe(
      ["NAME     N", "-------  -", "数量     1", "🦆 duck  2", "e\u0301te\u0301      3", ""].join(
        "\n",
      ),
    );
  });

  it("keeps one row on one line by escaping control characters", () => {
    expect(renderTable([{ header: "V" }], [["a\nb\tc"]])).toBe("V\n-------\na\\nb\\tc\n");
  });
});
