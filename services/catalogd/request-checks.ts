import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/** The proto's limits on free-text and key fields, in UTF-8 bytes. */
const MAX_TEXT_BYTES = 4096;
const MAX_IDEMPOTENCY_KEY_BYTES = 128;

function invalid(reason: string, message: string) {
  return serviceError(Code.InvalidArgument, reason, message);
}

/** @throws INVALID_ARGUMENT (TEXT_TOO_LONG) for a message or description over 4096 bytes. */
export function checkText(field: string, value: string): string {
  if (Buffer.byteLength(value, "utf8") > MAX_TEXT_BYTES) {
    throw invalid("TEXT_TOO_LONG", `${field} is longer than ${MAX_TEXT_BYTES} bytes`);
  }
  return value;
}

/** @throws INVALID_ARGUMENT (INVALID_IDEMPOTENCY_KEY) for a key over 128 bytes. */
export function checkIdempotencyKey(value: string): string {
  if (Buffer.byteLength(value, "utf8") > MAX_IDEMPOTENCY_KEY_BYTES) {
    throw invalid(
      "INVALID_IDEMPOTENCY_KEY",
      `idempotency_key is longer than ${MAX_IDEMPOTENCY_KEY_BYTES} bytes`,
    );
  }
  return value;
}

/** @throws INVALID_ARGUMENT (INVALID_VERSION) for a negative version. */
export function checkVersion(field: string, value: bigint, required = false): bigint {
  if (value < 0n || (required && value === 0n)) {
    throw invalid("INVALID_VERSION", `${field} must be ${required ? "above 0" : "0 or above"}`);
  }
  return value;
}

/** @throws INVALID_ARGUMENT (MISSING_FIELD) for an empty required string. */
export function requireText(field: string, value: string): string {
  if (value === "") throw invalid("MISSING_FIELD", `${field} is required`);
  return value;
}
