import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import type { Output } from "./output.js";

/**
 * A proto message in its canonical proto3 JSON form (64-bit integers as
 * strings, timestamps in RFC 3339, camelCase keys) with zero values kept, so
 * `--json` output has every field whatever its value and follows a published
 * mapping instead of one of our own.
 */
export function protoJson<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): unknown {
  return toJson(schema, message, { alwaysEmitImplicit: true });
}

/** Writes a JSON document, indented for people and parsed the same by `jq`. */
export async function writeJson(output: Output, value: unknown): Promise<void> {
  await output.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A timestamp in UTC to the second (`2026-01-02T03:04:05Z`); empty when absent. */
export function timestampText(timestamp: Timestamp | undefined): string {
  if (timestamp === undefined) return "";
  return timestampDate(timestamp)
    .toISOString()
    .replace(/\.\d+Z$/, "Z");
}

/** `key  value` lines with the values aligned, for details of one thing. */
export function keyValueLines(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return `${pairs.map(([key, value]) => `${key.padEnd(width)}  ${value}`.trimEnd()).join("\n")}\n`;
}

/** The help text after a command's options: its examples, one per line. */
export function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join("\n")}\n`;
}
