import type { Command } from "commander";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import type { CliContext } from "./cli-context.js";
import { LocalError } from "./cli-errors.js";
import { examples, writeJson } from "./rendering.js";

/**
 * `lakehouse health [service]`: the gateway's gRPC health check. Prints the
 * status and fails (exit 1) unless it is SERVING, so scripts can wait on it.
 * For a public service the gateway answers with the status of the service
 * behind it; with no name, with its own.
 */
export function registerHealthCommand(program: Command, context: CliContext): void {
  program
    .command("health")
    .description("check that the gateway is up and serving (grpc.health.v1.Health/Check)")
    // No default value here: commander would print it as a second "(default: ...)".
    .argument(
      "[service]",
      "a public service (e.g. lakehouse.query.v1.QueryService), checked behind the gateway (default: the gateway as a whole)",
    )
    .addHelpText(
      "after",
      examples([
        "lakehouse health",
        "lakehouse health lakehouse.query.v1.QueryService",
        "until lakehouse health >/dev/null 2>&1; do sleep 1; done",
      ]),
    )
    .action(async (service = "", _options: unknown, command: Command) => {
      const gateway = await context.connect(command);
      const response = await gateway.health.check({ service }, gateway.callOptions());
      const status = ServingStatus[response.status] ?? String(response.status);
      if (context.globals(command).json) {
        await writeJson(context.stdout, { service, status });
      } else {
        await context.stdout.write(`${status}\n`);
      }
      if (response.status !== ServingStatus.SERVING) {
        throw new LocalError("unavailable", `${service || "the gateway"} is ${status}`);
      }
    });
}
