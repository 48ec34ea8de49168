/**
 * Storage round trip: starts the real storaged process (local backend, then
 * S3 on the test s3rver), streams one generated object up and back down with
 * a connect-node gRPC client, checks the SHA-256, and prints throughput each
 * way and the server's resident-memory growth (which must stay flat however
 * large the object: bodies are streamed, never held).
 *
 *   node --import tsx bench/storage-roundtrip.ts [size]     size: bytes, or 256MiB, 1GiB
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { StorageService } from "../gen/lakehouse/storage/v1/storage_pb.js";
import { createInternalTransport } from "../services/kit/internal-transport.js";
import { putObject } from "../services/storaged/client.js";
import {
  startS3TestServer,
  storagedS3Environment,
} from "../services/storaged/testing/s3-test-server.js";
import { createInternalCredential } from "../tests/support/internal-credential.js";
import { sampleRss } from "../tests/support/process-memory.js";
import { startServiceProcess } from "../tests/support/service-process.js";

const MiB = 1024 * 1024;

function parseSize(text: string | undefined): number {
  if (text === undefined) return 1024 * MiB;
  const match = /^(\d+)(KiB|MiB|GiB)?$/i.exec(text);
  if (match === null) throw new Error(`size must be bytes or N{KiB,MiB,GiB}, got ${text}`);
  const unit = { kib: 1024, mib: MiB, gib: 1024 * MiB }[(match[2] ?? "").toLowerCase()] ?? 1;
  return Number(match[1]) * unit;
}

/** Incompressible bytes, generated as they are sent; the hash is read after the last chunk. */
function generatedBody(size: number): { chunks: AsyncIterable<Uint8Array>; sha256: () => string } {
  const hash = createHash("sha256");
  const pool = Array.from({ length: 8 }, (_, i) => {
    const buffer = Buffer.allocUnsafe(MiB);
    let x = 0x9e3779b9 ^ (i + 1);
    for (let j = 0; j < MiB; j += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buffer.writeInt32LE(x | 0, j);
    }
    return buffer;
  });
  async function* chunks() {
    for (let sent = 0, n = 0; sent < size; n++) {
      const chunk = Buffer.from(pool[n % pool.length]!.subarray(0, Math.min(MiB, size - sent)));
      chunk.writeUInt32LE(n, 0); // every chunk differs
      hash.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
  }
  return { chunks: chunks(), sha256: () => hash.digest("hex") };
}

interface RoundTrip {
  backend: string;
  bytes: number;
  uploadMBps: number;
  downloadMBps: number;
  rssGrowthMiB: number;
  /** The growth seen by the end of the upload alone. */
  uploadRssGrowthMiB: number;
  sha256Match: boolean;
}

async function roundTrip(
  backend: string,
  env: Record<string, string>,
  size: number,
): Promise<RoundTrip> {
  const storaged = await startServiceProcess("storaged", {
    ...env,
    LAKEHOUSE_STORAGED_INTERNAL_AUTH_SECRET_FILE: credential.secretFile,
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sampler = await sampleRss(storaged.child.pid ?? 0, 100);
    const transport = createInternalTransport(storaged.url.origin, {
      maxMessageBytes: 16 * MiB,
      interceptors: [credential.interceptor],
    });
    const client = createClient(StorageService, transport);
    const key = `bench/roundtrip-${Date.now()}.bin`;

    const body = generatedBody(size);
    let started = performance.now();
    const info = await putObject(client, key, body.chunks);
    const uploadSeconds = (performance.now() - started) / 1000;
    const uploadPeak = sampler.peak();
    const sent = body.sha256();

    const hash = createHash("sha256");
    let received = 0;
    started = performance.now();
    for await (const response of client.getObject({ key })) {
      hash.update(response.chunk);
      received += response.chunk.byteLength;
    }
    const downloadSeconds = (performance.now() - started) / 1000;
    const peak = await sampler.stop();
    await client.deleteObject({ key });
    const got = hash.digest("hex");
    return {
      backend,
      bytes: received,
      uploadMBps: size / 1e6 / uploadSeconds,
      downloadMBps: received / 1e6 / downloadSeconds,
      rssGrowthMiB: Math.max(0, peak - sampler.baseline) / MiB,
      uploadRssGrowthMiB: Math.max(0, uploadPeak - sampler.baseline) / MiB,
      sha256Match: got === sent && info.sha256 === sent && received === size,
    };
  } finally {
    await storaged.stop();
  }
}

function report(result: RoundTrip): void {
  console.log(
    `${result.backend.padEnd(5)} ${(result.bytes / MiB).toFixed(0)} MiB  ` +
      `up ${result.uploadMBps.toFixed(1)} MB/s  down ${result.downloadMBps.toFixed(1)} MB/s  ` +
      `server RSS +${result.rssGrowthMiB.toFixed(1)} MiB (upload +${result.uploadRssGrowthMiB.toFixed(1)})  sha256 ${result.sha256Match ? "ok" : "MISMATCH"}`,
  );
  console.log(JSON.stringify({ bench: "storage-roundtrip", ...result }));
}

const size = parseSize(process.argv[2]);
const credential = await createInternalCredential();
const scratch = await mkdtemp(path.join(tmpdir(), "bench-storage-"));
let failed = false;
try {
  const local = await roundTrip(
    "local",
    {
      LAKEHOUSE_STORAGED_BACKEND: "local",
      LAKEHOUSE_STORAGED_LOCAL_ROOT: path.join(scratch, "local"),
    },
    size,
  );
  report(local);
  failed ||= !local.sha256Match;

  const s3 = await startS3TestServer("bench");
  try {
    const result = await roundTrip(
      "s3",
      storagedS3Environment(s3, path.join(scratch, "spool")),
      size,
    );
    report(result);
    failed ||= !result.sha256Match;
  } finally {
    await s3.close();
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
