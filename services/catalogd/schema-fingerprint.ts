import { createHash } from "node:crypto";

/** The parts of a Field the fingerprint covers (the generated `Field` message fits). */
export interface FingerprintField {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
  readonly children: readonly FingerprintField[];
}

/** The parts of a Schema the fingerprint covers (the generated `Schema` message fits). */
export interface FingerprintSchema {
  readonly fields: readonly FingerprintField[];
}

/**
 * Domain tag written before every encoding, so a future encoding can never produce
 * the same bytes (and fingerprint) as this one by accident.
 */
const ENCODING_TAG = "lakehouse.schema.v1\n";

/**
 * Encodes a schema to the canonical bytes of docs/schema-fingerprint.md: the tag, then
 * the field count and each field depth-first (name, type, nullability, children).
 * Every string is length-prefixed UTF-8, every count a big-endian uint32, so no two
 * different schemas share an encoding and no locale, JSON library or proto
 * serializer version can change it.
 */
export function encodeSchema(schema: FingerprintSchema): Uint8Array {
  const parts: Buffer[] = [Buffer.from(ENCODING_TAG, "utf8")];
  const pushCount = (count: number) => {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(count);
    parts.push(bytes);
  };
  const pushString = (value: string) => {
    const bytes = Buffer.from(value, "utf8");
    pushCount(bytes.length);
    parts.push(bytes);
  };
  const pushFields = (fields: readonly FingerprintField[]) => {
    pushCount(fields.length);
    for (const field of fields) {
      pushString(field.name);
      pushString(field.type);
      parts.push(Buffer.from([field.nullable ? 1 : 0]));
      pushFields(field.children);
    }
  };
  pushFields(schema.fields);
  return Buffer.concat(parts);
}

/**
 * The schema fingerprint: lower-case hex SHA-256 of `encodeSchema`. Equal schemas give
 * equal fingerprints in every process and version, so comparing fingerprints is how
 * catalogd (and queryd's receipts) decide whether two schemas are the same.
 */
export function schemaFingerprint(schema: FingerprintSchema): string {
  return createHash("sha256").update(encodeSchema(schema)).digest("hex");
}
