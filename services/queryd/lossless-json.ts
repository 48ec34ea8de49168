/**
 * A JSON value whose numbers are kept as their exact source text. DuckDB's
 * statement ASTs hold 64-bit numbers (BIGINT constants, `query_location`
 * 18446744073709551615) that `JSON.parse` would round, silently changing a
 * query when its AST is rendered back to SQL.
 */
export type LosslessJson =
  | null
  | boolean
  | string
  | JsonNumber
  | LosslessJson[]
  | { [key: string]: LosslessJson };

/** A JSON number as written in the source text. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** An AST object, as the walkers in this service see it. */
export type JsonObject = { [key: string]: LosslessJson };

/** Whether a value is a (non-array) JSON object. */
export function isJsonObject(value: LosslessJson | undefined): value is JsonObject {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof JsonNumber)
  );
}

/** Parses JSON text, keeping every number as {@link JsonNumber}. */
export function parseLosslessJson(text: string): LosslessJson {
  let position = 0;
  const fail = (): never => {
    throw new SyntaxError(`invalid JSON at offset ${position}`);
  };
  const skipSpace = () => {
    while (position < text.length && " \t\r\n".includes(text.charAt(position))) position++;
  };
  const stringEnd = (start: number): number => {
    let index = start + 1;
    while (index < text.length) {
      const char = text.charAt(index);
      if (char === "\\") index += 2;
      else if (char === '"') return index + 1;
      else index++;
    }
    return fail();
  };
  const value = (): LosslessJson => {
    skipSpace();
    const char = text.charAt(position);
    if (char === "{") {
      position++;
      const object: JsonObject = {};
      skipSpace();
      if (text.charAt(position) === "}") {
        position++;
        return object;
      }
      for (;;) {
        skipSpace();
        if (text.charAt(position) !== '"') fail();
        const end = stringEnd(position);
        const key = JSON.parse(text.slice(position, end)) as string;
        position = end;
        skipSpace();
        if (text.charAt(position) !== ":") fail();
        position++;
        object[key] = value();
        skipSpace();
        const next = text.charAt(position++);
        if (next === "}") return object;
        if (next !== ",") fail();
      }
    }
    if (char === "[") {
      position++;
      const array: LosslessJson[] = [];
      skipSpace();
      if (text.charAt(position) === "]") {
        position++;
        return array;
      }
      for (;;) {
        array.push(value());
        skipSpace();
        const next = text.charAt(position++);
        if (next === "]") return array;
        if (next !== ",") fail();
      }
    }
    if (char === '"') {
      const end = stringEnd(position);
      const parsed = JSON.parse(text.slice(position, end)) as string;
      position = end;
      return parsed;
    }
    for (const [word, literal] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, position)) {
        position += word.length;
        return literal;
      }
    }
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(position, position + 400));
    if (number === null) return fail();
    position += number[0].length;
    return new JsonNumber(number[0]);
  };
  const result = value();
  skipSpace();
  if (position !== text.length) fail();
  return result;
}

/** Renders a value parsed by {@link parseLosslessJson} back to JSON text, numbers unchanged. */
export function stringifyLosslessJson(value: LosslessJson): string {
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(stringifyLosslessJson).join(",")}]`;
  if (isJsonObject(value)) {
    const members = Object.entries(value).map(
      ([key, member]) => `${JSON.stringify(key)}:${stringifyLosslessJson(member)}`,
    );
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A deep copy that keeps {@link JsonNumber}s (which `structuredClone` would turn into plain objects). */
export function cloneLosslessJson<T extends LosslessJson>(value: T): T {
  if (value instanceof JsonNumber || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(cloneLosslessJson) as T;
  const copy: JsonObject = {};
  for (const [key, member] of Object.entries(value)) copy[key] = cloneLosslessJson(member);
  return copy as T;
}
