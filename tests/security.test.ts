import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import * as grpc from "@grpc/grpc-js";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { CatalogService } from "../gen/lakehouse/catalog/v1/catalog_pb.js";
import {
  ExecuteQueryRequestSchema,
  QueryService,
  ResultFormat,
} from "../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../gen/lakehouse/storage/v1/storage_pb.js";
import { errorReason } from "../services/kit/errors.js";
import { createInternalTransport } from "../services/kit/internal-transport.js";
import { putObject, readObject } from "../services/storaged/client.js";
import { bearer, collectQuery, gatewayClients } from "./support/gateway-clients.js";
import { type RunningSystem, startSystem } from "./support/system.js";

const run = promisify(execFile);
let system: RunningSystem;
/** Scopes query and catalog.read, grants sales_* only. */
let analyst: string;
/** Valid signature, scope catalog.read only. */
let reader: string;
/** Signed by a key the gateway does not trust, but claiming everything. */
let forged: string;

beforeAll(async () => {
  system = await startSystem();
  const admin = gatewayClients(system.gateway.url);
  for (const [dataset, csv] of [
    ["sales_eu", "id,amount\n1,10\n2,20\n"],
    ["payroll", "id,salary\n1,100000\n"],
  ] as const) {
    await putObject(admin.storage, `uploads/${dataset}.csv`, Buffer.from(csv));
    await admin.catalog.ingestObject({
      dataset,
      sourceKey: `uploads/${dataset}.csv`,
      createIfMissing: true,
    });
  }
  analyst = await system.token({ scopes: ["query", "catalog.read"], datasets: ["sales_*"] });
  reader = await system.token({ scopes: ["catalog.read"], datasets: ["*"] });
  const stranger = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const now = Math.floor(Date.now() / 1000);
  forged = await new SignJWT({ scope: "query catalog.read admin", datasets: ["*"] })
    .setProtectedHeader({ alg: "EdDSA", kid: "stranger" })
    .setSubject("mallory")
    .setIssuer("lakehouse-local")
    .setAudience("lakehouse")
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(stranger.privateKey);
}, 120_000);

afterAll(async () => {
  const codes = await system?.stop();
  expect(Object.values(codes ?? {})).toEqual([0, 0, 0, 0, 0]);
});

const sql = "SELECT sum(amount) AS total FROM sales_eu";

/** ExecuteQuery through grpc-js with an optional token; the gRPC status code. */
async function grpcJsQuery(token: string | undefined): Promise<number> {
  const channel = new grpc.Client(system.gateway.url.host, grpc.credentials.createInsecure());
  try {
    const metadata = new grpc.Metadata();
    if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
    const call = channel.makeServerStreamRequest(
      "/lakehouse.query.v1.QueryService/ExecuteQuery",
      (value: Uint8Array) => Buffer.from(value),
      (bytes: Buffer) => new Uint8Array(bytes),
      toBinary(ExecuteQueryRequestSchema, create(ExecuteQueryRequestSchema, { sql })),
      metadata,
    );
    for await (const _ of call as AsyncIterable<Uint8Array>) {
    }
    return grpc.status.OK;
  } catch (error) {
    return (error as grpc.ServiceError).code;
  } finally {
    channel.close();
  }
}

/** ExplainQuery with curl and Connect JSON; the HTTP status and the Connect code. */
async function curlExplain(token: string | undefined): Promise<[string, string]> {
  const { stdout } = await run("curl", [
    "-sS",
    "-w",
    "\n%{http_code}",
    "-H",
    "content-type: application/json",
    ...(token === undefined ? [] : ["-H", `authorization: Bearer ${token}`]),
    "-d",
    JSON.stringify({ sql }),
    `${system.gateway.url.origin}/lakehouse.query.v1.QueryService/ExplainQuery`,
  ]);
  const [body, status] = stdout.split("\n");
  return [status ?? "", (JSON.parse(body ?? "{}") as { code?: string }).code ?? "ok"];
}

/** ExecuteQuery with connect-web's gRPC-Web transport; the code, or "ok". */
async function grpcWebQuery(token: string | undefined): Promise<string> {
  const query = createClient(
    QueryService,
    createGrpcWebTransport({
      baseUrl: system.gateway.url.origin,
      interceptors: token === undefined ? [] : [bearer(token)],
    }),
  );
  try {
    for await (const _ of query.executeQuery({ sql, format: ResultFormat.JSON })) {
    }
    return "ok";
  } catch (error) {
    return Code[ConnectError.from(error).code] ?? "?";
  }
}

describe("the gateway as the system's door", () => {
  it("refuses a query without a token, with a forged one and with the wrong scope, and serves a minted one: grpc-js", async () => {
    expect(await grpcJsQuery(undefined)).toBe(grpc.status.UNAUTHENTICATED);
    expect(await grpcJsQuery(forged)).toBe(grpc.status.UNAUTHENTICATED);
    expect(await grpcJsQuery(reader)).toBe(grpc.status.PERMISSION_DENIED);
    expect(await grpcJsQuery(analyst)).toBe(grpc.status.OK);
  });

  it("the same through curl with Connect JSON", async () => {
    expect(await curlExplain(undefined)).toEqual(["401", "unauthenticated"]);
    expect(await curlExplain(forged)).toEqual(["401", "unauthenticated"]);
    expect(await curlExplain(reader)).toEqual(["403", "permission_denied"]);
    expect(await curlExplain(analyst)).toEqual(["200", "ok"]);
  });

  it("the same through gRPC-Web", async () => {
    expect(await grpcWebQuery(undefined)).toBe("Unauthenticated");
    expect(await grpcWebQuery(forged)).toBe("Unauthenticated");
    expect(await grpcWebQuery(reader)).toBe("PermissionDenied");
    expect(await grpcWebQuery(analyst)).toBe("ok");
  });
});

describe("dataset grants across the services", () => {
  it("lets a caller read and list only the datasets its grants cover", async () => {
    const { catalog, query } = gatewayClients(system.gateway.url, analyst);
    const answer = await collectQuery(query, { sql, format: ResultFormat.JSON });
    expect(answer.jsonRows).toEqual(['{"total":"30"}']);
    const listed = await catalog.listDatasets({});
    expect(listed.datasets.map((d) => d.name)).toEqual(["sales_eu"]);
    const error = await catalog.getDataset({ name: "payroll" }).catch((e) => e);
    expect(ConnectError.from(error).code).toBe(Code.PermissionDenied);
  });

  it("refuses a join that reaches a dataset outside the grants", async () => {
    const { query } = gatewayClients(system.gateway.url, analyst);
    const error = await collectQuery(query, {
      sql: "SELECT * FROM sales_eu s JOIN payroll p USING (id)",
    }).catch((e) => e);
    expect(ConnectError.from(error).code).toBe(Code.PermissionDenied);
    expect(errorReason(error)).toBe("DATASET_NOT_GRANTED");
  });
});

describe("storage scopes below the catalog", () => {
  const reason = (error: unknown) => [ConnectError.from(error).code, errorReason(error)];

  it("list, read and write only what is not the catalog's, and only granted datasets' files", async () => {
    const uploader = await system.token({
      scopes: ["storage.read", "storage.write"],
      datasets: ["sales_*"],
    });
    const { storage } = gatewayClients(system.gateway.url, uploader);
    const admin = gatewayClients(system.gateway.url).storage;
    const everything = (await admin.listObjects({ prefix: "" })).objects.map((o) => o.key);
    const salesFile = everything.find((key) => key.startsWith("datasets/sales_eu/data/"));
    const payrollFile = everything.find((key) => key.startsWith("datasets/payroll/data/"));
    const record = "_catalog/datasets/payroll.json";
    expect(salesFile).toBeDefined();
    expect(payrollFile).toBeDefined();
    expect(everything).toContain(record);

    const visible = (await storage.listObjects({ prefix: "" })).objects.map((o) => o.key);
    expect(visible).toEqual(
      everything.filter(
        (key) => !key.startsWith("_catalog/") && !key.startsWith("datasets/payroll/"),
      ),
    );
    expect(visible).toContain(salesFile);
    expect((await readObject(storage, salesFile!)).byteLength).toBeGreaterThan(0);

    expect(reason(await readObject(storage, payrollFile!).catch((e) => e))).toEqual([
      Code.PermissionDenied,
      "DATASET_NOT_GRANTED",
    ]);
    expect(reason(await storage.headObject({ key: record }).catch((e) => e))).toEqual([
      Code.PermissionDenied,
      "RESERVED_KEY",
    ]);
    expect(reason(await storage.listObjects({ prefix: "_catalog/" }).catch((e) => e))).toEqual([
      Code.PermissionDenied,
      "RESERVED_KEY",
    ]);
    expect(
      reason(await storage.listObjects({ prefix: "datasets/payroll/" }).catch((e) => e)),
    ).toEqual([Code.PermissionDenied, "DATASET_NOT_GRANTED"]);
    const forgedRecord = putObject(storage, "_catalog/datasets/evil.json", Buffer.from("{}"));
    expect(reason(await forgedRecord.catch((e) => e))).toEqual([
      Code.PermissionDenied,
      "RESERVED_KEY",
    ]);
    expect(reason(await storage.deleteObject({ key: salesFile! }).catch((e) => e))).toEqual([
      Code.PermissionDenied,
      "RESERVED_KEY",
    ]);
    await putObject(storage, "uploads/mine.csv", Buffer.from("id\n1\n"));

    // Nothing was changed, and the admin scope may still read the catalog's objects.
    expect((await admin.listObjects({ prefix: "" })).objects.map((o) => o.key)).toEqual(
      [...everything, "uploads/mine.csv"].sort(),
    );
    expect((await readObject(admin, record)).byteLength).toBeGreaterThan(0);
  });
});

describe("the internal services", () => {
  const direct = (url: URL) => createInternalTransport(url.origin, { maxMessageBytes: 1 << 20 });

  it("refuse calls that bypass the gateway, even with a valid user token, with UNAUTHENTICATED", async () => {
    const user = [bearer(system.adminToken)];
    const attempts: [string, () => Promise<unknown>][] = [
      ["queryd", () => createClient(QueryService, direct(system.queryd.url)).explainQuery({ sql })],
      [
        "queryd with the admin token",
        () =>
          createClient(
            QueryService,
            createInternalTransport(system.queryd.url.origin, {
              maxMessageBytes: 1 << 20,
              interceptors: user,
            }),
          ).explainQuery({ sql }),
      ],
      [
        "catalogd",
        () => createClient(CatalogService, direct(system.catalogd.url)).listDatasets({}),
      ],
      [
        "storaged",
        () =>
          createClient(StorageService, direct(system.storaged.url)).headObject({
            key: "uploads/sales_eu.csv",
          }),
      ],
    ];
    for (const [what, attempt] of attempts) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect([what, error?.code]).toEqual([what, Code.Unauthenticated]);
    }
  });

  it("answer health without credentials, so probes work", async () => {
    for (const service of [system.queryd, system.catalogd, system.storaged, system.aibridge]) {
      const health = createClient(Health, direct(service.url));
      expect((await health.check({ service: "" })).status).toBe(1);
    }
  });

  it("accept no token a caller makes up, whatever it claims", async () => {
    const now = Math.floor(Date.now() / 1000);
    const made = await new SignJWT({ svc: "gateway", scope: "", datasets: ["*"] })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("mallory")
      .setIssuer("lakehouse-internal")
      .setAudience("lakehouse-internal")
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode("a guess at the shared secret, 32 bytes long"));
    const query = createClient(
      QueryService,
      createGrpcTransport({ baseUrl: system.queryd.url.origin, interceptors: [bearer(made)] }),
    );
    const error = await query.explainQuery({ sql }).catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.Unauthenticated);
    expect(errorReason(error)).toBe("TOKEN_SIGNATURE_INVALID");
  });
});
