/**
 * Storage round trip: starts the real storaged process (local backend, then
 * S3 on the test s3rver), streams one generated object up and back down with
 * a connect-node gRPC client, checks the SHA-256, and prints throughput each
 * way and the server's resident-memory growth (which must stay flat however
 * large the object: bodies are streamed, never held).
 *
 *   node --import tsx bench/storage-roundtrip.ts [size]     size: bytes, or 256MiB, 1GiB
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { StorageService } from "../gen/lakehouse/storage/v1/storage_pb.js";
import { putObject } from "../services/storaged/client.js";
import { startS3TestServer } from "../services/storaged/testing/s3-test-server.js";

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

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}

/** Samples a process's RSS every 100 ms and remembers the peak. */
function sampleRss(pid: number) {
  let peak = 0;
  const timer = setInterval(() => {
    rssBytes(pid)
      .then((rss) => {
        peak = Math.max(peak, rss);
      })
      .catch(() => undefined);
  }, 100);
  return {
    peak: () => peak,
    stop: () => clearInterval(timer),
  };
}

/** Starts storaged and resolves with its URL from the `listening` log line. */
async function startStoraged(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "services/storaged/main.ts"], {
    env: { ...process.env, LAKEHOUSE_STORAGED_LISTEN: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("storaged did not start within 30 s")), 30_000);
    child.once("exit", (code) => reject(new Error(`storaged exited with ${code}`)));
    lines.on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "listening" && entry.url !== undefined) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
  });
  return { child, url };
}

async function stopStoraged(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(force);
}

interface RoundTrip {
  backend: string;
  bytes: number;
  uploadMBps: number;
  downloadMBps: number;
  rssGrowthMiB: number;
  sha256Match: boolean;
}

async function roundTrip(
  backend: string,
  env: Record<string, string>,
  size: number,
): Promise<RoundTrip> {
  const { child, url } = await startStoraged(env);
  try {
    const pid = child.pid!;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const baseline = await rssBytes(pid);
    const sampler = sampleRss(pid);
    const transport = createGrpcTransport({ baseUrl: url, acceptCompression: [] });
    const client = createClient(StorageService, transport);
    const key = `bench/roundtrip-${Date.now()}.bin`;

    const body = generatedBody(size);
    let started = performance.now();
    const info = await putObject(client, key, body.chunks);
    const uploadSeconds = (performance.now() - started) / 1000;
    const sent = body.sha256();

    const hash = createHash("sha256");
    let received = 0;
    started = performance.now();
    for await (const response of client.getObject({ key })) {
      hash.update(response.chunk);
      received += response.chunk.byteLength;
    }
    const downloadSeconds = (performance.now() - started) / 1000;
    sampler.stop();
    await client.deleteObject({ key });
    const got = hash.digest("hex");
    return {
      backend,
      bytes: received,
      uploadMBps: size / 1e6 / uploadSeconds,
      downloadMBps: received / 1e6 / downloadSeconds,
      rssGrowthMiB: Math.max(0, sampler.peak() - baseline) / MiB,
      sha256Match: got === sent && info.sha256 === sent && received === size,
    };
  } finally {
    await stopStoraged(child);
  }
}

function report(result: RoundTrip): void {
  console.log(
    `${result.backend.padEnd(5)} ${(result.bytes / MiB).toFixed(0)} MiB  ` +
      `up ${result.uploadMBps.toFixed(1)} MB/s  down ${result.downloadMBps.toFixed(1)} MB/s  ` +
      `server RSS +${result.rssGrowthMiB.toFixed(1)} MiB  sha256 ${result.sha256Match ? "ok" : "MISMATCH"}`,
  );
  console.log(JSON.stringify({ bench: "storage-roundtrip", ...result }));
}

const size = parseSize(process.argv[2]);
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
      {
        LAKEHOUSE_STORAGED_BACKEND: "s3",
        LAKEHOUSE_STORAGED_S3_BUCKET: s3.bucket,
        LAKEHOUSE_STORAGED_S3_ENDPOINT: s3.endpoint,
        LAKEHOUSE_STORAGED_S3_REGION: s3.region,
        LAKEHOUSE_STORAGED_S3_FORCE_PATH_STYLE: "true",
        LAKEHOUSE_STORAGED_S3_ACCESS_KEY_ID: s3.accessKeyId,
        LAKEHOUSE_STORAGED_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        LAKEHOUSE_STORAGED_S3_SPOOL_DIRECTORY: path.join(scratch, "spool"),
      },
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
