import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/** Generate's ceiling on `max_tokens`, from the contract. */
export const MAX_OUTPUT_TOKENS = 8192;

/**
 * Checks the texts of an Embed or Rerank call against the limits.
 *
 * @throws INVALID_ARGUMENT (NO_TEXTS, TOO_MANY_TEXTS, TEXT_TOO_LARGE).
 */
export function checkTexts(
  texts: readonly string[],
  limits: { maxTexts: number; maxTextBytes: number },
  what = "texts",
): void {
  if (texts.length === 0) {
    throw serviceError(Code.InvalidArgument, "NO_TEXTS", `${what}: give at least one`);
  }
  if (texts.length > limits.maxTexts) {
    throw serviceError(
      Code.InvalidArgument,
      "TOO_MANY_TEXTS",
      `${what}: ${texts.length} given, at most ${limits.maxTexts} per call`,
      { limit: String(limits.maxTexts) },
    );
  }
  texts.forEach((text, index) => {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > limits.maxTextBytes) {
      throw serviceError(
        Code.InvalidArgument,
        "TEXT_TOO_LARGE",
        `${what}[${index}] is ${bytes} bytes of UTF-8, the limit is ${limits.maxTextBytes}`,
        { index: String(index), limit: String(limits.maxTextBytes) },
      );
    }
  });
}

/**
 * Checks a required text field and its size.
 *
 * @throws INVALID_ARGUMENT (MISSING_FIELD, TEXT_TOO_LARGE).
 */
export function checkRequiredText(value: string, field: string, maxBytes: number): void {
  if (value.trim() === "") {
    throw serviceError(Code.InvalidArgument, "MISSING_FIELD", `${field} is required`, { field });
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > maxBytes) {
    throw serviceError(
      Code.InvalidArgument,
      "TEXT_TOO_LARGE",
      `${field} is ${bytes} bytes of UTF-8, the limit is ${maxBytes}`,
      { field, limit: String(maxBytes) },
    );
  }
}

/**
 * The tokens a generation may produce: the request's, else the default.
 *
 * @throws INVALID_ARGUMENT (BAD_MAX_TOKENS) below 0 or above {@link MAX_OUTPUT_TOKENS}.
 */
export function outputTokens(requested: number, fallback: number): number {
  if (requested < 0 || requested > MAX_OUTPUT_TOKENS) {
    throw serviceError(
      Code.InvalidArgument,
      "BAD_MAX_TOKENS",
      `max_tokens must be 0 (the default, ${fallback}) to ${MAX_OUTPUT_TOKENS}`,
    );
  }
  return requested === 0 ? fallback : requested;
}

/**
 * Checks a sampling temperature.
 *
 * @throws INVALID_ARGUMENT (BAD_TEMPERATURE) outside 0 to 2.
 */
export function checkTemperature(value: number | undefined): number | undefined {
  if (value !== undefined && !(value >= 0 && value <= 2)) {
    throw serviceError(Code.InvalidArgument, "BAD_TEMPERATURE", "temperature must be 0 to 2");
  }
  return value;
}

/** Cuts a text to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.byteLength <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to a character boundary.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}
