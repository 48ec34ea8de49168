import { describe, expect, it } from "vitest";
import { uploadKey } from "./upload-key.js";

describe("uploadKey", () => {
  it("stages under uploads/<id>/ and keeps the file name and its extension", () => {
    expect(uploadKey("/data/sales 2024.csv", "id1")).toBe("uploads/id1/sales_2024.csv");
  });

  it("replaces characters a storage key refuses and never yields a dot segment", () => {
    expect(uploadKey("C:\\x\\%2e..json", "id2")).toBe("uploads/id2/C__x__2e..json");
    expect(uploadKey("..", "id3")).toBe("uploads/id3/upload");
  });

  it("stays clear of the prefixes the catalog owns", () => {
    const key = uploadKey("datasets.csv");
    expect(key.startsWith("uploads/")).toBe(true);
    expect(key).toMatch(/^uploads\/[0-9a-f-]{36}\/datasets\.csv$/);
  });
});
