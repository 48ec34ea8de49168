import { AsyncLocalStorage } from "node:async_hooks";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { createKeyMutex } from "../key-mutex.js";
import { compareKeys } from "../object-key.js";

/** A running S3-compatible server for tests, with the conditional writes real S3 has. */
export interface S3TestServer {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where s3rver keeps the body of `s3Key` on disk (for corruption tests). */
  objectFile(s3Key: string): string;
  close(): Promise<void>;
}

/** The slice of a Koa context the conditional-write middleware reads and writes. */
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  req: AsyncIterable<unknown>;
  status: number;
  type: string;
  body: unknown;
}

type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

function s3ErrorXml(code: string, message: string, extra: Record<string, string>): string {
  const fields = Object.entries({ Code: code, Message: message, ...extra })
    .map(([name, value]) => `<${name}>${value}</${name}>`)
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${fields}</Error>`;
}

function header(ctx: KoaContext, name: string): string | undefined {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Writes that replace or remove an object: PutObject, CompleteMultipartUpload, DeleteObject. */
function isObjectMutation(ctx: KoaContext): boolean {
  // The SDK tags requests with `x-id=<Operation>`; it names no sub-resource.
  const query = Object.keys(ctx.query).filter((name) => name !== "x-id");
  if (ctx.method === "PUT") return query.length === 0 && !("x-amz-copy-source" in ctx.headers);
  if (ctx.method === "POST") return query.includes("uploadId");
  if (ctx.method === "DELETE") return query.length === 0;
  return false;
}

/**
 * s3rver ignores `If-None-Match` and `If-Match` on writes; real S3 honours
 * them. This middleware, placed before s3rver's routes, answers as S3 does
 * (412 PreconditionFailed, or 404 NoSuchKey for If-Match on a missing key) and
 * runs every write of one key under a lock, so racing conditional writes have
 * exactly one winner.
 */
function conditionalWrites(server: S3rver, bucket: string): KoaMiddleware {
  const mutex = createKeyMutex();
  const bucketPath = `/${bucket}/`;
  return async (ctx, next) => {
    if (!ctx.path.startsWith(bucketPath) || !isObjectMutation(ctx)) return next();
    const key = decodeURIComponent(ctx.path.slice(bucketPath.length));
    await mutex.run(key, async () => {
      const ifNoneMatch = header(ctx, "if-none-match");
      const ifMatch = header(ctx, "if-match");
      if (ifNoneMatch !== undefined || ifMatch !== undefined) {
        const metadata = await server.store.getMetadata(bucket, key).catch(() => undefined);
        const etag = metadata?.etag?.replace(/"/g, "");
        let failure: { status: number; xml: string } | undefined;
        if (ifNoneMatch === "*" && metadata !== undefined) {
          failure = {
            status: 412,
            xml: s3ErrorXml(
              "PreconditionFailed",
              "At least one of the pre-conditions you specified did not hold",
              { Condition: "If-None-Match" },
            ),
          };
        } else if (ifMatch !== undefined && metadata === undefined) {
          failure = {
            status: 404,
            xml: s3ErrorXml("NoSuchKey", "The specified key does not exist.", { Key: key }),
          };
        } else if (ifMatch !== undefined && ifMatch !== "*" && ifMatch.replace(/"/g, "") !== etag) {
          failure = {
            status: 412,
            xml: s3ErrorXml(
              "PreconditionFailed",
              "At least one of the pre-conditions you specified did not hold",
              { Condition: "If-Match" },
            ),
          };
        }
        if (failure !== undefined) {
          // Read the request body to its end, as S3 does, so the client sees the answer.
          for await (const _ of ctx.req) {
          }
          ctx.status = failure.status;
          ctx.type = "application/xml";
          ctx.body = failure.xml;
          return;
        }
      }
      await next();
    });
  };
}

/** Set while one ListObjects request runs: whether its page was cut short. */
const listing = new AsyncLocalStorage<{ truncated: boolean; lastKey: string }>();

/**
 * s3rver walks its directory in file-system order and compares StartAfter in
 * UTF-16 order, so a page is not "the next keys in byte order" as S3 promises:
 * list everything, filter and sort by UTF-8 bytes, cut. And s3rver builds continuation tokens with DES, which Node's OpenSSL 3
 * refuses (every truncated page fails with 500): the store reports "not
 * truncated" and {@link markTruncation} restores the flag on the response.
 * Clients must resume with StartAfter, as the S3 backend does.
 */
function sortListings(server: S3rver): void {
  const store = server.store;
  const listAll = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const { startAfter = "" } = options;
    const all = await listAll(bucket, {
      ...options,
      startAfter: undefined,
      maxKeys: Number.POSITIVE_INFINITY,
    });
    const objects = all.objects
      .filter((object) => compareKeys(object.key, startAfter) > 0)
      .sort((a, b) => compareKeys(a.key, b.key));
    const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
    const page = objects.slice(0, maxKeys);
    const state = listing.getStore();
    if (state !== undefined && objects.length > maxKeys) {
      state.truncated = true;
      state.lastKey = page.at(-1)?.key ?? "";
    }
    return { objects: page, commonPrefixes: all.commonPrefixes, isTruncated: false };
  };
}

function markTruncation(bucket: string): KoaMiddleware {
  return async (ctx, next) => {
    if (ctx.method !== "GET" || ctx.path.replace(/\/$/, "") !== `/${bucket}`) return next();
    const state = { truncated: false, lastKey: "" };
    await listing.run(state, next);
    const result = (ctx.body as { ListBucketResult?: Record<string, unknown> } | undefined)
      ?.ListBucketResult;
    if (state.truncated && result !== undefined) {
      result.IsTruncated = true;
      result.NextContinuationToken = Buffer.from(state.lastKey).toString("base64");
    }
  };
}

/**
 * Starts s3rver on 127.0.0.1 and a free port, in a fresh temp directory with
 * one bucket, patched to behave like S3 for conditional writes and listing
 * order. Use with `forcePathStyle: true` and the returned credentials.
 */
export async function startS3TestServer(bucket = "lakehouse-test"): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(tmpdir(), "s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  // s3rver's router is its last middleware; Koa composes the list when it starts listening.
  server.middleware.splice(
    server.middleware.length - 1,
    0,
    conditionalWrites(server, bucket),
    markTruncation(bucket),
  );
  sortListings(server);
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    objectFile: (s3Key) => server.store.getResourcePath(bucket, s3Key, "object"),
    async close() {
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The environment that points a storaged process at this server's bucket. */
export function storagedS3Environment(
  server: S3TestServer,
  spoolDirectory: string,
): Record<string, string> {
  return {
    LAKEHOUSE_STORAGED_BACKEND: "s3",
    LAKEHOUSE_STORAGED_S3_BUCKET: server.bucket,
    LAKEHOUSE_STORAGED_S3_ENDPOINT: server.endpoint,
    LAKEHOUSE_STORAGED_S3_REGION: server.region,
    LAKEHOUSE_STORAGED_S3_FORCE_PATH_STYLE: "true",
    LAKEHOUSE_STORAGED_S3_ACCESS_KEY_ID: server.accessKeyId,
    LAKEHOUSE_STORAGED_S3_SECRET_ACCESS_KEY: server.secretAccessKey,
    LAKEHOUSE_STORAGED_S3_SPOOL_DIRECTORY: spoolDirectory,
  };
}
