import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/**
 * Suffix of the temporary files a backend writes before publishing an object.
 * No valid key segment may end with it, so a temp file can never be mistaken
 * for (or collide with) an object.
 */
export const TEMP_SUFFIX = ".lhtmp";

/** Largest key, in UTF-8 bytes, as fixed by the StorageService contract. */
export const MAX_KEY_BYTES = 1024;

const encoder = new TextEncoder();
// Unicode Cc is exactly C0, DEL and C1: invisible in logs and dangerous in paths.
const CONTROL = /\p{Cc}/u;
// Escapes that some layer might decode into a path separator or a dot segment.
const ENCODED_PATH_CHARS = /%(2e|2f|5c)/i;
// In a `u` regex a well-formed pair is one code point, so this finds only lone halves.
const LONE_SURROGATE = /\p{Cs}/u;

function invalidKey(rule: string, message: string) {
  return serviceError(Code.InvalidArgument, "INVALID_KEY", message, { rule });
}

/** Character-level rules shared by keys and prefixes. */
function checkCharacters(value: string, what: string): void {
  if (LONE_SURROGATE.test(value)) {
    throw invalidKey("utf8", `${what} is not valid UTF-8`);
  }
  if (encoder.encode(value).byteLength > MAX_KEY_BYTES) {
    throw invalidKey("length", `${what} is longer than ${MAX_KEY_BYTES} bytes`);
  }
  if (value.normalize("NFC") !== value) {
    throw invalidKey("nfc", `${what} is not in Unicode NFC`);
  }
  if (CONTROL.test(value)) {
    throw invalidKey("control", `${what} contains a control character`);
  }
  if (value.includes("\\")) {
    throw invalidKey("backslash", `${what} contains a backslash`);
  }
  if (ENCODED_PATH_CHARS.test(value)) {
    throw invalidKey("escape", `${what} contains an escaped '.', '/' or '\\'`);
  }
  if (value.startsWith("/")) {
    throw invalidKey("absolute", `${what} starts with '/'`);
  }
}

/** Rules for one complete `/`-separated segment. */
function checkSegment(segment: string, what: string): void {
  if (segment === "") {
    throw invalidKey("empty-segment", `${what} has an empty segment`);
  }
  if (segment === "." || segment === "..") {
    throw invalidKey("dot-segment", `${what} has a '.' or '..' segment`);
  }
  if (segment.endsWith(TEMP_SUFFIX)) {
    throw invalidKey("reserved-suffix", `${what} has a segment ending in '${TEMP_SUFFIX}'`);
  }
}

/**
 * Checks an object key against the contract (UTF-8, NFC, 1–1024 bytes, no
 * empty/`.`/`..` segments, no controls, backslashes or escaped separators) and
 * returns it unchanged. Keys are never normalised silently: two spellings of
 * one name must not silently become one object.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason INVALID_KEY.
 */
export function validateKey(key: string): string {
  if (typeof key !== "string" || key === "") {
    throw invalidKey("empty", "key is empty");
  }
  checkCharacters(key, "key");
  for (const segment of key.split("/")) checkSegment(segment, "key");
  return key;
}

/**
 * Checks a listing prefix: the key rules, except that it may be empty, may
 * end with `/`, and its last segment may be partial (so `a/.` may list `a/.x`).
 *
 * @throws ConnectError INVALID_ARGUMENT, reason INVALID_KEY.
 */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== "string") {
    throw invalidKey("type", "prefix is not a string");
  }
  if (prefix === "") return prefix;
  checkCharacters(prefix, "prefix");
  const segments = prefix.split("/");
  segments.pop();
  for (const segment of segments) checkSegment(segment, "prefix");
  return prefix;
}

/**
 * Orders keys by their UTF-8 bytes, the order the contract promises for
 * listings (JavaScript's `<` compares UTF-16 units and disagrees above U+FFFF).
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
