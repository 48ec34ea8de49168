import { createHash } from "node:crypto";
import { Code, type Interceptor } from "@connectrpc/connect";
import { AiService } from "../../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../../gen/lakehouse/storage/v1/storage_pb.js";
import { serviceError } from "../../kit/errors.js";
import { type CallerIdentity, identityOf } from "../../kit/identity/caller-identity.js";
import { createLogger } from "../../kit/logger.js";
import {
  createServiceServer,
  registration,
  type ServiceRegistration,
  type ServiceServer,
} from "../../kit/server.js";

/** Bytes in each GetObject/PutObject chunk the fixtures and tests use. */
export const CHUNK_BYTES = 1024 * 1024;

/** Chunk `index` of a fixture object: every byte is `index % 251`, so order is checkable. */
export function fixtureChunk(index: number): Uint8Array {
  return new Uint8Array(CHUNK_BYTES).fill(index % 251);
}

/** What the fixture services saw, for tests to assert on. */
export interface UpstreamProbe {
  /** Request headers of the last HeadObject / ExplainQuery call. */
  lastHeaders?: Headers;
  /** The caller identity the last HeadObject / ExplainQuery call was served as. */
  lastIdentity?: CallerIdentity | undefined;
  /** `ctx.timeoutMs()` of the last ExplainQuery call. */
  lastTimeoutMs?: number | undefined;
  /** GetObject chunks produced so far. */
  chunksProduced: number;
  /** PutObject chunks consumed so far. */
  chunksConsumed: number;
  /** Set by a test to hold PutObject after its first chunk until it resolves. */
  holdPut?: Promise<void>;
  /** When ExecuteQuery saw its call aborted (performance.now()), if it did. */
  queryAbortedAt?: number;
}

/**
 * StorageService: GetObject streams `length / CHUNK_BYTES` fixture chunks;
 * PutObject sums and hashes what it receives; HeadObject echoes the
 * `x-custom` request header, sets a response header and trailer, and fails
 * with NOT_FOUND + ErrorDetail for the key `missing`.
 */
function storageFixture(probe: UpstreamProbe): ServiceRegistration {
  return registration(StorageService, {
    async *getObject(request) {
      const count = Math.ceil(Number(request.length) / CHUNK_BYTES);
      for (let index = 0; index < count; index++) {
        probe.chunksProduced = index + 1;
        yield { chunk: fixtureChunk(index) };
      }
    },
    async putObject(requests) {
      const hash = createHash("sha256");
      let key = "";
      let size = 0;
      for await (const request of requests) {
        if (request.part.case === "header") key = request.part.value.key;
        if (request.part.case !== "chunk") continue;
        hash.update(request.part.value);
        size += request.part.value.byteLength;
        probe.chunksConsumed += 1;
        if (probe.chunksConsumed === 1) await probe.holdPut;
      }
      return { object: { key, size: BigInt(size), sha256: hash.digest("hex") } };
    },
    headObject(request, context) {
      probe.lastHeaders = new Headers(context.requestHeader);
      probe.lastIdentity = identityOf(context.values);
      if (request.key === "missing") {
        throw serviceError(Code.NotFound, "OBJECT_NOT_FOUND", "no object at missing", {
          key: request.key,
        });
      }
      context.responseHeader.set("x-upstream-header", "from-storaged");
      context.responseTrailer.set("x-upstream-trailer", "done");
      return {
        object: { key: request.key, contentType: context.requestHeader.get("x-custom") ?? "" },
      };
    },
  });
}

/**
 * QueryService: ExecuteQuery streams a batch every 20 ms until its call is
 * aborted and records when; ExplainQuery reports the deadline it saw.
 */
function queryFixture(probe: UpstreamProbe): ServiceRegistration {
  return registration(QueryService, {
    async *executeQuery(_request, context) {
      context.signal.addEventListener("abort", () => {
        probe.queryAbortedAt = performance.now();
      });
      for (let batch = 0; !context.signal.aborted; batch++) {
        yield { payload: { case: "batch", value: { rowCount: BigInt(batch) } } };
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    explainQuery(request, context) {
      probe.lastHeaders = new Headers(context.requestHeader);
      probe.lastIdentity = identityOf(context.values);
      probe.lastTimeoutMs = context.timeoutMs();
      return { plan: `plan for ${request.sql}` };
    },
  });
}

/** CatalogService and AiService: one unary each, answering with their own name. */
function catalogFixture(): ServiceRegistration {
  return registration(CatalogService, {
    getDataset: (request) => ({ dataset: { name: `catalogd:${request.name}` } }),
  });
}

function aiFixture(): ServiceRegistration {
  return registration(AiService, {
    listModels: () => ({ models: [{ name: "aibridge:fixture" }] }),
  });
}

/** The four fixture services, each on its own kit server on a free loopback port. */
export interface FixtureUpstreams {
  probe: UpstreamProbe;
  urls: { storageUrl: string; catalogUrl: string; queryUrl: string; aiUrl: string };
  shutdown(): Promise<void>;
}

/**
 * Starts the fixture upstreams with the same server kit the real services
 * use; `interceptors` are the server interceptors (e.g. the internal
 * credential check).
 */
export async function startFixtureUpstreams(
  interceptors: Interceptor[] = [],
): Promise<FixtureUpstreams> {
  const probe: UpstreamProbe = { chunksProduced: 0, chunksConsumed: 0 };
  const logger = createLogger({ level: "error", write: () => {} });
  const settings = {
    listen: "127.0.0.1:0",
    logLevel: "error" as const,
    maxMessageBytes: 4 * CHUNK_BYTES,
    maxConcurrentStreams: 100,
    maxHeaderBytes: 16 * 1024,
    drainTimeoutMs: 100,
  };
  const servers: ServiceServer[] = [
    storageFixture(probe),
    catalogFixture(),
    queryFixture(probe),
    aiFixture(),
  ].map((service) => createServiceServer({ services: [service], settings, logger, interceptors }));
  const [storage, catalog, query, ai] = await Promise.all(servers.map((s) => s.start()));
  return {
    probe,
    urls: {
      storageUrl: storage!.origin,
      catalogUrl: catalog!.origin,
      queryUrl: query!.origin,
      aiUrl: ai!.origin,
    },
    shutdown: async () => {
      await Promise.all(servers.map((server) => server.shutdown()));
    },
  };
}
