import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/**
 * Services every server answers without credentials: health, so load
 * balancers, probes and the launcher can check a process; reflection, so
 * `grpcurl list` and `buf curl` work. Reflection describes the public
 * contracts in `proto/` and no data, so serving it openly gives nothing away.
 */
const openServices = new Set([
  Health.typeName,
  ServerReflection.typeName,
  ServerReflectionV1alpha.typeName,
]);

/** Tells whether calls to `serviceTypeName` need no credentials. */
export function isOpenService(serviceTypeName: string): boolean {
  return openServices.has(serviceTypeName);
}
