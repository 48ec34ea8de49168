import {
  type CallOptions,
  type Client,
  Code,
  ConnectError,
  createClient,
} from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { StorageService } from "../../gen/lakehouse/storage/v1/storage_pb.js";
import { createInternalTransport } from "../kit/internal-transport.js";
import { createBearerInterceptor } from "./auth-token.js";

/** Where the gateway listens when neither `--url` nor `LAKEHOUSE_URL` says otherwise. */
export const DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080";

/** Largest message either way: query batches and upload chunks stay well below it. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** How to reach the gateway. */
export interface GatewayOptions {
  readonly url: string;
  /** Sent as `authorization: Bearer ...` when set. */
  readonly token?: string | undefined;
  /** The whole command's deadline, in milliseconds from now; none when undefined. */
  readonly timeoutMs?: number | undefined;
  /** Aborted on Ctrl-C: cancels whatever call is running. */
  readonly signal: AbortSignal;
}

/** Clients of every public service, sharing one HTTP/2 connection to the gateway. */
export interface GatewayClients {
  readonly catalog: Client<typeof CatalogService>;
  readonly query: Client<typeof QueryService>;
  readonly storage: Client<typeof StorageService>;
  readonly health: Client<typeof Health>;
  readonly ai: Client<typeof AiService>;
  /**
   * Aborted on Ctrl-C and, with DEADLINE_EXCEEDED as the reason, when the
   * command's deadline passes: for helpers that take a signal but no timeout.
   */
  readonly signal: AbortSignal;
  /**
   * Options for the next call: the time left before the command's deadline
   * (so a command of several calls keeps one deadline, not one per call) and
   * the Ctrl-C signal.
   *
   * @throws ConnectError DEADLINE_EXCEEDED when no time is left.
   */
  callOptions(): CallOptions;
}

/**
 * Connects to the gateway over gRPC (HTTP/2, cleartext for `http://`, TLS for
 * `https://`) without compression, the same transport the services use
 * between themselves, with the bearer token added to every call.
 */
export function createGatewayClients(options: GatewayOptions): GatewayClients {
  const transport = createInternalTransport(options.url, {
    maxMessageBytes: MAX_MESSAGE_BYTES,
    interceptors: options.token === undefined ? [] : [createBearerInterceptor(options.token)],
  });
  const deadline =
    options.timeoutMs === undefined ? undefined : performance.now() + options.timeoutMs;
  const signal = withDeadline(options.signal, options.timeoutMs);
  return {
    catalog: createClient(CatalogService, transport),
    query: createClient(QueryService, transport),
    storage: createClient(StorageService, transport),
    health: createClient(Health, transport),
    ai: createClient(AiService, transport),
    signal,
    callOptions() {
      if (deadline === undefined) return { signal };
      const timeoutMs = Math.floor(deadline - performance.now());
      if (timeoutMs <= 0) throw deadlineExceeded();
      return { signal, timeoutMs };
    },
  };
}

function deadlineExceeded(): ConnectError {
  return new ConnectError("the --timeout deadline passed", Code.DeadlineExceeded);
}

/**
 * `signal`, also aborted when `timeoutMs` passes with a DEADLINE_EXCEEDED
 * reason, which connect reports as that code. The timer is unref'd so it
 * never keeps a finished command alive.
 */
function withDeadline(signal: AbortSignal, timeoutMs: number | undefined): AbortSignal {
  if (timeoutMs === undefined) return signal;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(deadlineExceeded()), timeoutMs);
  timer.unref();
  return AbortSignal.any([signal, controller.signal]);
}
