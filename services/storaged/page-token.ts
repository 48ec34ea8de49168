import { Code } from "@connectrpc/connect";
import { serviceError } from "../kit/errors.js";

/**
 * Encodes the last key of a page as an opaque token. Both backends resume a
 * listing "after this key", so a token from one backend means the same on the other.
 */
export function encodePageToken(lastKey: string): string {
  return Buffer.from(lastKey, "utf8").toString("base64url");
}

/**
 * Decodes a page token back to the key to list after; "" for the first page.
 *
 * @throws ConnectError INVALID_ARGUMENT, reason INVALID_PAGE_TOKEN.
 */
export function decodePageToken(token: string): string {
  if (token === "") return "";
  const invalid = () =>
    serviceError(Code.InvalidArgument, "INVALID_PAGE_TOKEN", "page token is not valid");
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  const key = Buffer.from(token, "base64url").toString("utf8");
  if (encodePageToken(key) !== token) throw invalid();
  return key;
}
