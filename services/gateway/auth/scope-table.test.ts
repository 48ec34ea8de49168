import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { errorReason } from "../../kit/errors.js";
import { allScopes, requireScopes, scopeTable } from "./scope-table.js";

const generated = resolve(import.meta.dirname, "../../../gen/lakehouse");

/** Every service descriptor of every generated lakehouse file, found by walking gen/. */
async function generatedServices(): Promise<DescService[]> {
  const files = readdirSync(generated, { recursive: true, encoding: "utf8" }).filter((file) =>
    file.endsWith("_pb.ts"),
  );
  const services: DescService[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(generated, file)).href)) as Record<
      string,
      unknown
    >;
    for (const value of Object.values(module)) {
      const candidate = value as Partial<DescService> | undefined;
      if (candidate?.kind === "service") services.push(candidate as DescService);
    }
  }
  return services;
}

const caller = (scopes: string[]) => ({ subject: "s", scopes, datasets: ["*"] });

function refusal(run: () => void): ConnectError {
  try {
    run();
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected a refusal");
}

describe("scope table", () => {
  it("has an entry for every method of every generated service, and none for methods that do not exist", async () => {
    const services = await generatedServices();
    expect(services.map((s) => s.typeName).sort()).toEqual([
      "lakehouse.ai.v1.AiService",
      "lakehouse.catalog.v1.CatalogService",
      "lakehouse.query.v1.QueryService",
      "lakehouse.storage.v1.StorageService",
    ]);
    const procedures = services.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`));
    const unmapped = procedures.filter((procedure) => scopeTable[procedure] === undefined);
    expect(unmapped).toEqual([]);
    expect(Object.keys(scopeTable).sort()).toEqual([...procedures].sort());
  });

  it("names only known scopes, at least one per method", () => {
    for (const needed of Object.values(scopeTable)) {
      expect(needed.length).toBeGreaterThan(0);
      for (const scope of needed) expect(allScopes).toContain(scope);
    }
  });

  it("refuses an RPC missing from the table even to a caller holding every scope", () => {
    const error = refusal(() =>
      requireScopes(caller([...allScopes]), "lakehouse.query.v1.QueryService", "DropEverything"),
    );
    expect(error.code).toBe(Code.PermissionDenied);
    expect(errorReason(error)).toBe("METHOD_NOT_MAPPED");
  });

  it("refuses a caller missing any one of the scopes an RPC needs", () => {
    const query = "lakehouse.query.v1.QueryService";
    expect(() => requireScopes(caller(["query"]), query, "ExecuteQuery")).not.toThrow();
    const error = refusal(() => requireScopes(caller(["query"]), query, "WriteQueryResult"));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(errorReason(error)).toBe("SCOPE_MISSING");
    expect(error.rawMessage).toContain("catalog.write");
    const none = refusal(() => requireScopes(caller([]), query, "ExecuteQuery"));
    expect(none.code).toBe(Code.PermissionDenied);
  });
});
