import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/lakehouse/type/v1/error_pb.js";

/**
 * Creates the one kind of error the services throw on purpose: a ConnectError
 * with a deliberate code and an `ErrorDetail` whose `reason` a program can
 * switch on. Metadata must never hold secrets.
 */
export function serviceError(
  code: Code,
  reason: string,
  message: string,
  metadata: Record<string, string> = {},
  domain = "lakehouse.dev",
): ConnectError {
  return new ConnectError(message, code, undefined, [
    { desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { reason, domain, metadata }) },
  ]);
}

/** Reads the `ErrorDetail.reason` of an error, or "" when it carries none. */
export function errorReason(error: unknown): string {
  const connectError = ConnectError.from(error);
  return connectError.findDetails(ErrorDetailSchema)[0]?.reason ?? "";
}

/** The answer of an RPC whose implementation does not exist yet: never a fake result. */
export function unimplemented(what: string): ConnectError {
  return serviceError(Code.Unimplemented, "NOT_IMPLEMENTED", `${what} is not implemented yet`);
}
