import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { createLogger } from "./logger.js";
import { createServiceServer, registration, type ServiceServer } from "./server.js";

const run = promisify(execFile);
const settings = {
  listen: "127.0.0.1:0",
  logLevel: "error" as const,
  maxMessageBytes: 1024 * 1024,
  maxConcurrentStreams: 100,
  maxHeaderBytes: 16 * 1024,
  drainTimeoutMs: 5_000,
};

let server: ServiceServer | undefined;
afterEach(async () => {
  await server?.shutdown();
  server = undefined;
});

/** A fixture service: HeadObject fails unexpectedly, GetObject streams slowly, the rest is unimplemented. */
async function startServer(overrides: Partial<typeof settings> = {}) {
  server = createServiceServer({
    services: [
      registration(StorageService, {
        headObject() {
          throw new Error("secret internal detail");
        },
        async *getObject(request) {
          for (let i = 0; i < 5; i++) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            yield { chunk: new Uint8Array([i]) };
          }
          if (request.key === "fail") throw new Error("stream broke internally");
        },
      }),
    ],
    settings: { ...settings, ...overrides },
    logger: createLogger({ level: "error", write: () => {} }),
  });
  const url = await server.start();
  return {
    url,
    client: (svc = StorageService) =>
      createClient(svc, createGrpcTransport({ baseUrl: url.origin })),
  };
}

describe("service server", () => {
  it("serves gRPC health Check, and NOT_FOUND for unknown services", async () => {
    const { url } = await startServer();
    const health = createClient(Health, createGrpcTransport({ baseUrl: url.origin }));
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    expect((await health.check({ service: "lakehouse.storage.v1.StorageService" })).status).toBe(
      ServingStatus.SERVING,
    );
    await expect(health.check({ service: "nope.Service" })).rejects.toMatchObject({
      code: Code.NotFound,
    });
  });

  it("answers UNIMPLEMENTED for RPCs without an implementation", async () => {
    const { client } = await startServer();
    await expect(client().listObjects({})).rejects.toMatchObject({ code: Code.Unimplemented });
  });

  it("hides unexpected errors behind INTERNAL, in unary and streaming calls", async () => {
    const { client } = await startServer();
    const unary = await client()
      .headObject({ key: "k" })
      .catch((e) => ConnectError.from(e));
    expect(unary).toBeInstanceOf(ConnectError);
    expect((unary as ConnectError).code).toBe(Code.Internal);
    expect((unary as ConnectError).rawMessage).toBe("internal error");
    const chunks: number[] = [];
    const streamed = await (async () => {
      for await (const message of client().getObject({ key: "fail" }))
        chunks.push(message.chunk[0] ?? -1);
    })().catch((e) => ConnectError.from(e));
    expect(chunks).toEqual([0, 1, 2, 3, 4]);
    expect((streamed as ConnectError).code).toBe(Code.Internal);
    expect((streamed as ConnectError).rawMessage).not.toMatch(/internally/);
  });

  it("serves Connect JSON over HTTP/1.1 on the same port", async () => {
    const { url } = await startServer();
    const response = await fetch(`${url.origin}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "SERVING" });
  });

  it("serves @grpc/grpc-js clients", async () => {
    const { url } = await startServer();
    const channel = new grpc.Client(url.host, grpc.credentials.createInsecure());
    try {
      const reply = await new Promise<Uint8Array>((resolve, reject) =>
        channel.makeUnaryRequest(
          "/grpc.health.v1.Health/Check",
          (value: Uint8Array) => Buffer.from(value),
          (bytes: Buffer) => new Uint8Array(bytes),
          toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" })),
          (error, value) => (error || !value ? reject(error) : resolve(value)),
        ),
      );
      expect(fromBinary(HealthCheckResponseSchema, reply).status).toBe(ServingStatus.SERVING);
    } finally {
      channel.close();
    }
  });

  it("lists services and returns descriptors with their imports through reflection", async () => {
    const { url } = await startServer();
    const reflection = createClient(ServerReflection, createGrpcTransport({ baseUrl: url.origin }));
    async function* requests() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
      yield {
        messageRequest: {
          case: "fileContainingSymbol" as const,
          value: "lakehouse.storage.v1.StorageService.PutObject",
        },
      };
    }
    const answers = [];
    for await (const answer of reflection.serverReflectionInfo(requests())) answers.push(answer);
    const listed = answers[0]?.messageResponse;
    expect(listed?.case).toBe("listServicesResponse");
    const names =
      listed?.case === "listServicesResponse" ? listed.value.service.map((s) => s.name) : [];
    expect(names).toEqual(
      expect.arrayContaining([
        "lakehouse.storage.v1.StorageService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]),
    );
    const files = answers[1]?.messageResponse;
    expect(files?.case).toBe("fileDescriptorResponse");
    const fileNames =
      files?.case === "fileDescriptorResponse"
        ? files.value.fileDescriptorProto.map(
            (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
          )
        : [];
    expect(fileNames[0]).toBe("lakehouse/storage/v1/storage.proto");
    expect(fileNames).toContain("google/protobuf/timestamp.proto");
  });

  it("is listed by buf curl through reflection v1 and v1alpha", async () => {
    const { url } = await startServer();
    for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
      const { stdout } = await run("npx", [
        "buf",
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--reflect-protocol",
        protocol,
        "--list-methods",
        url.origin,
      ]);
      expect(stdout).toContain("lakehouse.storage.v1.StorageService/PutObject");
      expect(stdout).toContain("grpc.health.v1.Health/Watch");
    }
  });

  it("drains on shutdown: health turns NOT_SERVING, in-flight streams finish, new calls are refused", async () => {
    const { url, client } = await startServer();
    const health = createClient(Health, createGrpcTransport({ baseUrl: url.origin }));
    const watched: ServingStatus[] = [];
    const watching = (async () => {
      for await (const message of health.watch({ service: "" })) watched.push(message.status);
    })();
    const received: number[] = [];
    const inFlight = (async () => {
      for await (const message of client().getObject({ key: "ok" }))
        received.push(message.chunk[0] ?? -1);
    })();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const shutdown = server?.shutdown();
    await inFlight;
    await watching;
    await shutdown;
    expect(received).toEqual([0, 1, 2, 3, 4]);
    expect(watched).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    await expect(
      fetch(`${url.origin}/grpc.health.v1.Health/Check`, { method: "POST", body: "{}" }),
    ).rejects.toThrow();
  });

  it("cuts calls that outlive the drain timeout", async () => {
    const { client } = await startServer({ drainTimeoutMs: 60 });
    const inFlight = (async () => {
      for await (const _ of client().getObject({ key: "ok" })) {
      }
    })().catch((e) => ConnectError.from(e));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await server?.shutdown();
    // The fixture stream needs 250 ms; cut at 60 ms, it ends in an error instead.
    expect(await inFlight).toBeInstanceOf(ConnectError);
  });
});
