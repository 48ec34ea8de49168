import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/**
 * Thrown when configuration is invalid. The message names every bad key, the
 * environment variable that can set it, and what is allowed, so a process can
 * print it and stop.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions<S extends z.ZodObject> {
  /** The section of the file this schema reads, e.g. `storaged`. */
  section: string;
  /** The zod schema of the section, with defaults for every optional setting. */
  schema: S;
  /** The config file (YAML or JSON). Default: `$LAKEHOUSE_CONFIG`, else none. */
  file?: string | undefined;
  /** The environment to read overrides from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Loads one section of the config file and applies environment overrides.
 *
 * Every setting `a.b.c` of section `s` can be overridden by the variable
 * `LAKEHOUSE_S_A_B_C` (camelCase becomes SNAKE_CASE): the names come from the
 * schema, so they are unambiguous and listed by {@link configEnvironmentNames}.
 */
export function loadConfig<S extends z.ZodObject>(options: LoadConfigOptions<S>): z.output<S> {
  const env = options.env ?? process.env;
  const file = options.file ?? env.LAKEHOUSE_CONFIG;
  const fromFile = file ? readSection(file, options.section) : {};
  const merged = applyEnvironment(options.schema, fromFile, envPrefix(options.section), env);
  const result = options.schema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = [options.section, ...issue.path.map(String)].join(".");
      const variable = envPrefix(options.section) + issue.path.map(String).map(snake).join("_");
      return `  ${key} (env ${variable}): ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${problems.join("\n")}`);
  }
  return result.data;
}

/** Lists `[setting path, environment variable]` for every leaf setting of a schema. */
export function configEnvironmentNames(section: string, schema: z.ZodObject): [string, string][] {
  return leaves(schema, []).map(({ path }) => [
    [section, ...path].join("."),
    envPrefix(section) + path.map(snake).join("_"),
  ]);
}

function readSection(file: string, section: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid: ${(error as Error).message}`);
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== "object" || Array.isArray(document)) {
    throw new ConfigError(`config file ${file} must hold a mapping of sections`);
  }
  const value = (document as Record<string, unknown>)[section];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`config file ${file}: section ${section} must be a mapping`);
  }
  return value as Record<string, unknown>;
}

interface Leaf {
  path: string[];
  kind: string;
}

/** Walks an object schema down to its leaf settings, through defaults and optionals. */
function leaves(schema: z.ZodType, path: string[]): Leaf[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape).flatMap(([key, child]) =>
      leaves(child as z.ZodType, [...path, key]),
    );
  }
  return [{ path, kind: inner.def.type }];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (
    current instanceof z.ZodDefault ||
    current instanceof z.ZodPrefault ||
    current instanceof z.ZodOptional ||
    current instanceof z.ZodNullable
  ) {
    current = current.def.innerType as z.ZodType;
  }
  return current;
}

function applyEnvironment(
  schema: z.ZodObject,
  base: Record<string, unknown>,
  prefix: string,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const merged: Record<string, unknown> = structuredClone(base);
  for (const { path, kind } of leaves(schema, [])) {
    const raw = env[prefix + path.map(snake).join("_")];
    if (raw === undefined) continue;
    setPath(merged, path, fromEnvironment(raw, kind));
  }
  return merged;
}

/** Environment values are text; numbers, booleans and lists are converted by the leaf's kind. */
function fromEnvironment(raw: string, kind: string): unknown {
  switch (kind) {
    case "number":
    case "int":
      return raw.trim() === "" ? raw : Number(raw);
    case "boolean":
      return raw === "true" ? true : raw === "false" ? false : raw;
    case "array":
      return raw === "" ? [] : raw.split(",").map((item) => item.trim());
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

function envPrefix(section: string): string {
  return `LAKEHOUSE_${snake(section)}_`;
}

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}
