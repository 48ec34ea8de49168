import { LocalError } from "./cli-errors.js";

/**
 * The one mapping of Node file-system errors to CLI error codes, so a missing
 * input file reads `error: not_found: ...` like a missing dataset does.
 * Anything unrecognised is rethrown unchanged as unexpected.
 */
export function localFileError(error: unknown, path: string): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return new LocalError("not_found", `file "${path}" does not exist`);
    case "EACCES":
    case "EPERM":
      return new LocalError("permission_denied", `file "${path}" cannot be read`);
    case "EISDIR":
      return new LocalError("invalid_argument", `"${path}" is a directory, not a file`);
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}
