import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GetObjectRequestSchema,
  GetObjectResponseSchema,
  PutObjectRequestSchema,
  PutObjectResponseSchema,
  StorageService,
} from "../gen/lakehouse/storage/v1/storage_pb.js";
import { createInternalTransport } from "../services/kit/internal-transport.js";
import { putObject, readObject } from "../services/storaged/client.js";
import {
  type S3TestServer,
  startS3TestServer,
  storagedS3Environment,
} from "../services/storaged/testing/s3-test-server.js";
import { bufCurl } from "./support/gateway-clients.js";
import { createInternalCredential } from "./support/internal-credential.js";
import { type ServiceProcess, startServiceProcess } from "./support/service-process.js";

const run = promisify(execFile);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** storaged only answers peers: every test call carries the internal credential. */
const credential = await createInternalCredential();
const secretEnv = { LAKEHOUSE_STORAGED_INTERNAL_AUTH_SECRET_FILE: credential.secretFile };
const credentialMetadata = async () => {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", await credential.authorization());
  return metadata;
};

const storageClient = (url: URL) =>
  createClient(
    StorageService,
    createInternalTransport(url.origin, {
      maxMessageBytes: 8 << 20,
      interceptors: [credential.interceptor],
    }),
  );

describe.each(["local", "s3"] as const)("storaged process (%s backend)", (backend) => {
  let s3: S3TestServer | undefined;
  let storaged: ServiceProcess;

  beforeAll(async () => {
    const env: Record<string, string> = {
      ...secretEnv,
      LAKEHOUSE_STORAGED_BACKEND: backend,
      LAKEHOUSE_STORAGED_LOCAL_ROOT: mkdtempSync(join(tmpdir(), "storaged-")),
    };
    if (backend === "s3") {
      s3 = await startS3TestServer();
      Object.assign(env, storagedS3Environment(s3, mkdtempSync(join(tmpdir(), "spool-"))));
    }
    storaged = await startServiceProcess("storaged", env);
  });

  afterAll(async () => {
    expect(await storaged?.stop()).toBe(0);
    await s3?.close();
  });

  it("lists its services through reflection for buf curl", async () => {
    const services = (await bufCurl(["--list-services", storaged.url.origin])).trim().split("\n");
    expect(services).toContain("lakehouse.storage.v1.StorageService");
    expect(services).toContain("grpc.health.v1.Health");
  });

  it("round-trips a streamed object with @grpc/grpc-js, a different gRPC implementation", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const channel = new grpc.Client(storaged.url.host, grpc.credentials.createInsecure());
    const metadata = await credentialMetadata();
    try {
      const put = await new Promise<Uint8Array>((resolve, reject) => {
        const call = channel.makeClientStreamRequest(
          "/lakehouse.storage.v1.StorageService/PutObject",
          (value: Uint8Array) => Buffer.from(value),
          (bytes: Buffer) => new Uint8Array(bytes),
          metadata,
          (error, value) => (error || !value ? reject(error) : resolve(value)),
        );
        call.write(
          toBinary(
            PutObjectRequestSchema,
            create(PutObjectRequestSchema, {
              part: { case: "header", value: { key: "grpcjs/blob.bin" } },
            }),
          ),
        );
        for (let offset = 0; offset < body.length; offset += 1 << 20) {
          const chunk = body.subarray(offset, offset + (1 << 20));
          call.write(
            toBinary(
              PutObjectRequestSchema,
              create(PutObjectRequestSchema, { part: { case: "chunk", value: chunk } }),
            ),
          );
        }
        call.end();
      });
      const stored = fromBinary(PutObjectResponseSchema, put).object;
      expect(stored?.sha256).toBe(sha256(body));
      expect(stored?.size).toBe(BigInt(body.length));

      const call = channel.makeServerStreamRequest(
        "/lakehouse.storage.v1.StorageService/GetObject",
        (value: Uint8Array) => Buffer.from(value),
        (bytes: Buffer) => new Uint8Array(bytes),
        toBinary(
          GetObjectRequestSchema,
          create(GetObjectRequestSchema, { key: "grpcjs/blob.bin" }),
        ),
        metadata,
      );
      const chunks: Uint8Array[] = [];
      for await (const message of call as AsyncIterable<Uint8Array>) {
        chunks.push(fromBinary(GetObjectResponseSchema, message).chunk);
      }
      expect(sha256(Buffer.concat(chunks))).toBe(sha256(body));
    } finally {
      channel.close();
    }
  });

  it("answers curl with Connect JSON on a unary RPC, errors included", async () => {
    await putObject(
      storageClient(storaged.url),
      "curl/hello.txt",
      new TextEncoder().encode("hello"),
      {
        contentType: "text/plain",
      },
    );
    const authorization = `authorization: ${await credential.authorization()}`;
    const head = await run("curl", [
      "-sS",
      "-H",
      authorization,
      "-H",
      "content-type: application/json",
      "-d",
      JSON.stringify({ key: "curl/hello.txt" }),
      `${storaged.url.origin}/lakehouse.storage.v1.StorageService/HeadObject`,
    ]);
    expect(JSON.parse(head.stdout).object).toMatchObject({
      key: "curl/hello.txt",
      size: "5",
      sha256: sha256(new TextEncoder().encode("hello")),
      contentType: "text/plain",
    });
    const bad = await run("curl", [
      "-sS",
      "-w",
      "\n%{http_code}",
      "-H",
      authorization,
      "-H",
      "content-type: application/json",
      "-d",
      JSON.stringify({ key: "../escape" }),
      `${storaged.url.origin}/lakehouse.storage.v1.StorageService/HeadObject`,
    ]);
    const [json, status] = bad.stdout.split("\n");
    expect(status).toBe("400");
    expect(JSON.parse(json ?? "{}")).toMatchObject({ code: "invalid_argument" });
  });

  it("refuses calls without the internal credential with UNAUTHENTICATED, health and reflection excepted", async () => {
    const bare = createClient(
      StorageService,
      createInternalTransport(storaged.url.origin, { maxMessageBytes: 1 << 20 }),
    );
    const error = await bare.headObject({ key: "curl/hello.txt" }).catch((e) => e);
    expect(ConnectError.from(error).code).toBe(Code.Unauthenticated);
    const status = await run("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      "content-type: application/json",
      "-d",
      "{}",
      `${storaged.url.origin}/grpc.health.v1.Health/Check`,
    ]);
    expect(status.stdout).toBe("200");
  });

  it("refuses a create-only write on an existing key with ALREADY_EXISTS", async () => {
    const client = storageClient(storaged.url);
    await putObject(client, "once/k", new Uint8Array([1]), { ifNoneMatch: true });
    const error = await putObject(client, "once/k", new Uint8Array([2]), {
      ifNoneMatch: true,
    }).catch((e) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.AlreadyExists);
    expect(await readObject(client, "once/k")).toEqual(new Uint8Array([1]));
  });
});

describe("storaged process lifecycle", () => {
  it("stops with a message naming the key when the config is bad", async () => {
    const failure = await run(process.execPath, ["--import", "tsx", "services/storaged/main.ts"], {
      env: { ...process.env, LAKEHOUSE_STORAGED_BACKEND: "tape" },
    }).catch((error: { code: number; stderr: string }) => error);
    expect("code" in failure && failure.code).toBe(2);
    expect("stderr" in failure && failure.stderr).toMatch(
      /storaged\.backend \(env LAKEHOUSE_STORAGED_BACKEND\)/,
    );
  });

  it("leaves no partial object after being killed mid-upload, again and again", async () => {
    const root = mkdtempSync(join(tmpdir(), "storaged-crash-"));
    const env = { ...secretEnv, LAKEHOUSE_STORAGED_LOCAL_ROOT: root };
    // Every body is derived from its key, so a whole object is recognisable.
    const bodyOf = (key: string, size: number) => {
      const seed = createHash("sha256").update(key).digest();
      const body = new Uint8Array(size);
      for (let i = 0; i < size; i += seed.length)
        body.set(seed.subarray(0, Math.min(seed.length, size - i)), i);
      return body;
    };
    const acknowledged = new Map<string, string>();
    const attempted = new Set<string>();
    let interrupted = 0;
    for (let round = 0; round < 6; round++) {
      const storaged = await startServiceProcess("storaged", env);
      const client = storageClient(storaged.url);
      const uploads = Array.from({ length: 8 }, (_, i) => {
        // Half of the keys are rewritten every round, so overwrites are killed too.
        const key = i % 2 === 0 ? `crash/shared-${i}` : `crash/r${round}-${i}`;
        const size = (1 + ((round * 8 + i) % 5)) * 1024 * 1024 + i;
        const body = bodyOf(`${key}#${size}`, size);
        attempted.add(key);
        async function* slowly() {
          for (let offset = 0; offset < body.length; offset += 256 * 1024) {
            yield body.subarray(offset, offset + 256 * 1024);
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }
        return putObject(client, key, slowly()).then(
          (info) => {
            acknowledged.set(key, info.sha256);
            return true;
          },
          () => {
            interrupted += 1;
            return false;
          },
        );
      });
      // Kill as soon as the first upload of the round is acknowledged, while
      // the larger ones are still streaming.
      await Promise.race(uploads);
      await storaged.kill();
      await Promise.all(uploads);
    }
    // The kills must really have landed mid-upload, and some uploads must have completed.
    expect(interrupted).toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(0);
    const storaged = await startServiceProcess("storaged", env);
    try {
      const client = storageClient(storaged.url);
      for (const key of attempted) {
        const read = await readObject(client, key).catch((e) => ConnectError.from(e));
        if (read instanceof ConnectError) {
          expect(read.code).toBe(Code.NotFound);
          expect(acknowledged.has(key)).toBe(false);
          continue;
        }
        // Compared by digest: a deep equality of megabytes takes seconds per object.
        const digest = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
        expect(digest(read)).toBe(digest(bodyOf(`${key}#${read.length}`, read.length)));
      }
      const { stdout } = await run("find", [root, "-name", "*.lhtmp"]);
      expect(stdout).toBe("");
    } finally {
      await storaged.stop();
    }
  }, 120_000);
});
