import { InvalidArgumentError } from "commander";

/**
 * Option parsers handed to commander: a bad value becomes commander's own
 * usage error (exit 2) naming the option, before any call is made.
 */

/** A snapshot version: a whole number from 1 up. */
export function parseVersion(text: string): bigint {
  if (!/^[0-9]+$/.test(text) || BigInt(text) < 1n) {
    throw new InvalidArgumentError("expected a snapshot version, a whole number from 1 up");
  }
  return BigInt(text);
}

/** A row count: a whole number from 1 up. */
export function parseRowCount(text: string): bigint {
  if (!/^[0-9]+$/.test(text) || BigInt(text) < 1n) {
    throw new InvalidArgumentError("expected a whole number from 1 up");
  }
  return BigInt(text);
}

/** A duration in seconds (fractions allowed), returned in milliseconds. */
export function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new InvalidArgumentError("expected a number of seconds above 0, e.g. 30 or 2.5");
  }
  return Math.ceil(seconds * 1000);
}

/** A gateway base URL: `http://` (cleartext HTTP/2) or `https://`. */
export function parseGatewayUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError("expected a URL such as http://127.0.0.1:8080");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError("expected an http:// or https:// URL");
  }
  return url.href.replace(/\/$/, "");
}

/** Collects a repeatable option's values in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Collects repeatable `NAME=VALUE` options into one record; a later NAME wins. */
export function collectSettings(
  text: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const equals = text.indexOf("=");
  if (equals < 1) throw new InvalidArgumentError("expected NAME=VALUE, e.g. delim=';'");
  return { ...previous, [text.slice(0, equals)]: text.slice(equals + 1) };
}
