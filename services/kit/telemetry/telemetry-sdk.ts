import { basename, dirname } from "node:path";
import { context, propagation, trace } from "@opentelemetry/api";
import type { NodeSDKConfiguration } from "@opentelemetry/sdk-node";

/** A started SDK, as far as the rest of the process needs it. */
interface RunningSdk {
  shutdown(): Promise<void>;
}

let running: RunningSdk | undefined;

/** How long exit waits for the last spans to leave; a gone collector must not hold it up. */
const shutdownTimeoutMs = 5_000;

const isTrue = (value: string | undefined) => value?.trim().toLowerCase() === "true";
const isSet = (value: string | undefined) => value !== undefined && value.trim() !== "";

/**
 * Whether the environment asks for traces. Off unless an exporter is named
 * (`OTEL_TRACES_EXPORTER` other than `none`) or an OTLP endpoint is set: the
 * spec's default of OTLP to localhost would make every service started
 * without a collector retry and fail in the background. `OTEL_SDK_DISABLED`
 * wins over everything.
 */
export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  if (isTrue(env.OTEL_SDK_DISABLED)) return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (exporters.length > 0) return !exporters.every((name) => name === "none");
  return isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT) || isSet(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * The `service.name` a process reports when the environment names none: the
 * folder of its main module (`services/<name>/main.ts`), so every service is
 * told apart without per-service settings.
 */
export function defaultServiceName(mainModule: string | undefined): string {
  if (mainModule === undefined || !/main\.[cm]?[jt]s$/.test(mainModule)) return "lakehouse";
  return basename(dirname(mainModule));
}

/** Options of {@link startTelemetry}. */
export interface StartTelemetryOptions {
  /** Used when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names the service. */
  serviceName: string;
  env?: NodeJS.ProcessEnv;
  /** Replaces the exporters the environment names (tests). */
  overrides?: Partial<NodeSDKConfiguration>;
}

/**
 * Starts `@opentelemetry/sdk-node` from the standard `OTEL_*` variables when
 * {@link tracingWanted}; otherwise loads nothing, so the API stays a no-op
 * that costs a few allocations per call. Metrics and OTLP logs stay off
 * unless `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER` ask for them: the
 * services emit neither, and the collector's pipeline takes traces. Resolves
 * true when an SDK started.
 */
export async function startTelemetry(options: StartTelemetryOptions): Promise<boolean> {
  const env = options.env ?? process.env;
  if (running !== undefined) return true;
  if (options.overrides === undefined && !tracingWanted(env)) return false;
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const named =
    isSet(env.OTEL_SERVICE_NAME) ||
    /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? "");
  const sdk = new NodeSDK({
    ...(named ? {} : { serviceName: options.serviceName }),
    ...(isSet(env.OTEL_METRICS_EXPORTER) ? {} : { metricReaders: [] }),
    ...(isSet(env.OTEL_LOGS_EXPORTER) ? {} : { logRecordProcessors: [] }),
    ...options.overrides,
  });
  sdk.start();
  running = sdk;
  return true;
}

/**
 * Flushes the spans still buffered and stops the SDK; call once the server
 * has drained, right before the process exits. Waits at most a few seconds.
 * The global API is reset afterwards, so a later {@link startTelemetry} in
 * the same process (tests) registers afresh instead of exporting nowhere.
 */
export async function shutdownTelemetry(): Promise<void> {
  const sdk = running;
  if (sdk === undefined) return;
  running = undefined;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    sdk.shutdown().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, shutdownTimeoutMs);
    }),
  ]);
  clearTimeout(timer);
  trace.disable();
  context.disable();
  propagation.disable();
}
