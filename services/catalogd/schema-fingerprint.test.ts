import { describe, expect, it } from "vitest";
import { encodeSchema, type FingerprintField, schemaFingerprint } from "./schema-fingerprint.js";

const field = (
  name: string,
  type: string,
  nullable: boolean,
  children: FingerprintField[] = [],
): FingerprintField => ({ name, type, nullable, children });

/** The worked example of docs/schema-fingerprint.md. */
const example = {
  fields: [
    field("id", "BIGINT", false),
    field("tags", "VARCHAR[]", true, [field("element", "VARCHAR", true)]),
  ],
};

describe("schemaFingerprint", () => {
  it("encodes the documented example to the documented bytes and fingerprint", () => {
    expect(Buffer.from(encodeSchema(example)).toString("hex")).toBe(
      "6c616b65686f7573652e736368656d612e76310a0000000200000002696400000006424947494e54" +
        "0000000000000000047461677300000009564152434841525b5d010000000100000007656c656d65" +
        "6e7400000007564152434841520100000000",
    );
    expect(schemaFingerprint(example)).toBe(
      "a924fe5ec2fb2995150ad43eb3175904899728e1370b11ddedde9c6bfb9ce0ba",
    );
  });

  it("gives equal schemas built separately the same fingerprint", () => {
    const copy = JSON.parse(JSON.stringify(example)) as typeof example;
    expect(schemaFingerprint(copy)).toBe(schemaFingerprint(example));
  });

  const variants: Record<string, { fields: FingerprintField[] }> = {
    "a renamed column": {
      fields: [field("ID", "BIGINT", false), example.fields[1]!],
    },
    "another type": {
      fields: [field("id", "INTEGER", false), example.fields[1]!],
    },
    "another nullability": {
      fields: [field("id", "BIGINT", true), example.fields[1]!],
    },
    "another column order": { fields: [example.fields[1]!, example.fields[0]!] },
    "a renamed nested child": {
      fields: [
        example.fields[0]!,
        field("tags", "VARCHAR[]", true, [field("item", "VARCHAR", true)]),
      ],
    },
    "a nested child of another nullability": {
      fields: [
        example.fields[0]!,
        field("tags", "VARCHAR[]", true, [field("element", "VARCHAR", false)]),
      ],
    },
    "an extra column": { fields: [...example.fields, field("x", "DOUBLE", true)] },
    "a missing column": { fields: [example.fields[0]!] },
  };
  for (const [change, schema] of Object.entries(variants)) {
    it(`changes the fingerprint for ${change}`, () => {
      expect(schemaFingerprint(schema)).not.toBe(schemaFingerprint(example));
    });
  }

  it("does not confuse a boundary moved between name and type", () => {
    const a = { fields: [field("ab", "C", true)] };
    const b = { fields: [field("a", "bC", true)] };
    expect(schemaFingerprint(a)).not.toBe(schemaFingerprint(b));
  });

  it("is lower-case hex SHA-256", () => {
    expect(schemaFingerprint({ fields: [] })).toMatch(/^[0-9a-f]{64}$/);
  });
});
