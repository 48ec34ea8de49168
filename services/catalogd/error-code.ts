import { type Code, ConnectError } from "@connectrpc/connect";

/**
 * Whether a call failed with `code`. storaged already speaks in deliberate codes
 * (NOT_FOUND for a missing key, ALREADY_EXISTS for a lost create-only race), as do
 * catalogd's own modules, so callers only ever ask which one; anything else propagates
 * unchanged.
 */
export function hasCode(error: unknown, code: Code): boolean {
  return error instanceof ConnectError && error.code === code;
}
