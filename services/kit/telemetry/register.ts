/**
 * The `node --import` entry that starts tracing before any service module
 * loads (`node --import tsx --import ./services/kit/telemetry/register.ts
 * services/<name>/main.ts`). With no `OTEL_*` exporter settings it does
 * nothing.
 */
import { defaultServiceName, startTelemetry } from "./telemetry-sdk.js";

await startTelemetry({ serviceName: defaultServiceName(process.argv[1]) });
