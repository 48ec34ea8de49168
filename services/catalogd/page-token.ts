import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/** Page size when a request gives 0, as the proto documents. */
export const DEFAULT_PAGE_SIZE = 100;
/** The largest page size a request may ask for. */
export const MAX_PAGE_SIZE = 1000;

/**
 * Resolves a requested page size: 0 means the default; negative or above the maximum is
 * refused rather than clamped, so a caller never mistakes a short page for the end.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason INVALID_PAGE_SIZE.
 */
export function resolvePageSize(requested: number): number {
  if (requested === 0) return DEFAULT_PAGE_SIZE;
  if (requested < 0 || requested > MAX_PAGE_SIZE) {
    throw serviceError(
      Code.InvalidArgument,
      "INVALID_PAGE_SIZE",
      `page_size must be between 0 and ${MAX_PAGE_SIZE}`,
    );
  }
  return requested;
}

/**
 * Encodes where the next page starts as an opaque token. `scope` ties it to one list
 * (for example one dataset's snapshots), so a token is never replayed elsewhere.
 */
export function encodePageToken(scope: string, position: string): string {
  return Buffer.from(JSON.stringify({ s: scope, p: position }), "utf8").toString("base64url");
}

/**
 * Decodes a token made by {@link encodePageToken} for `scope`; "" for the first page.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason INVALID_PAGE_TOKEN.
 */
export function decodePageToken(scope: string, token: string): string {
  if (token === "") return "";
  try {
    const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
      s?: unknown;
      p?: unknown;
    };
    if (decoded.s === scope && typeof decoded.p === "string" && decoded.p !== "") return decoded.p;
  } catch {
    // Reported below, like every other malformed token.
  }
  throw serviceError(Code.InvalidArgument, "INVALID_PAGE_TOKEN", "page token is not valid");
}
