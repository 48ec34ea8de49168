import { readFile } from "node:fs/promises";
import type { Interceptor } from "@connectrpc/connect";
import { LocalError } from "./cli-errors.js";
import { localFileError } from "./local-file-errors.js";

/**
 * Finds the bearer token: `LAKEHOUSE_TOKEN` itself, else the contents of the
 * file named by `LAKEHOUSE_TOKEN_FILE` (trimmed, so a trailing newline from
 * `echo > file` does not end up in the header). Undefined when neither is set:
 * the call then goes out without credentials and the gateway decides.
 */
export async function resolveToken(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const direct = env.LAKEHOUSE_TOKEN?.trim();
  if (direct) return direct;
  const file = env.LAKEHOUSE_TOKEN_FILE;
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw localFileError(error, file);
  }
  const token = text.trim();
  if (token === "") throw new LocalError("invalid_argument", `token file "${file}" is empty`);
  return token;
}

/**
 * Adds `authorization: Bearer <token>` to every call, unary and streaming, as
 * a client interceptor so no command has to remember it.
 */
export function createBearerInterceptor(token: string): Interceptor {
  return (next) => async (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}
