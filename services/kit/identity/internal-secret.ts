import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { ConfigError } from "../config.js";

/** Fewest bytes a shared secret may have: HS256 wants a key at least as long as its hash. */
const minimumSecretBytes = 32;

/**
 * Reads the secret the gateway and the services share to sign and check
 * internal tokens. The file's text (trimmed) is the key.
 *
 * @throws ConfigError naming `setting` when the file is unreadable or too short.
 */
export async function readInternalSecret(file: string, setting: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = (await readFile(file, "utf8")).trim();
  } catch (error) {
    throw new ConfigError(`${setting}: cannot read ${file}: ${(error as Error).message}`);
  }
  const secret = new TextEncoder().encode(text);
  if (secret.byteLength < minimumSecretBytes) {
    throw new ConfigError(`${setting}: ${file} holds fewer than ${minimumSecretBytes} bytes`);
  }
  return secret;
}

/**
 * Creates a new random secret file (owner-only, 0600) unless one exists, so
 * the embedded system is protected from its first start without any setup.
 * Resolves true when it created the file.
 */
export async function ensureInternalSecret(file: string): Promise<boolean> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, `${randomBytes(32).toString("base64url")}\n`, {
      mode: 0o600,
      flag: "wx",
    });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}
