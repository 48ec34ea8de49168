import { createClient, type Interceptor } from "@connectrpc/connect";
import { CatalogService } from "../../gen/lakehouse/catalog/v1/catalog_pb.js";
import { QueryService } from "../../gen/lakehouse/query/v1/query_pb.js";
import { readInternalSecret } from "../../services/kit/identity/internal-secret.js";
import { createInternalTokenSigner } from "../../services/kit/identity/internal-token.js";
import { localKeyFiles } from "../../services/kit/identity/local-keys.js";
import { createInternalTransport } from "../../services/kit/internal-transport.js";
import type { RunningSystem } from "./system.js";

/**
 * Clients that call queryd and catalogd of a running system directly, as a
 * peer service does (internal token from the system's shared secret, every
 * dataset granted): measurements then tell the gateway's share of a call's
 * time from the services' own.
 */
export async function peerClients(system: RunningSystem, service = "bench") {
  const { internalSecretFile } = localKeyFiles(system.dataDirectory);
  const secret = await readInternalSecret(internalSecretFile, internalSecretFile);
  const signer = createInternalTokenSigner({ secret, service, ttlSeconds: 600 });
  const identity = { subject: service, scopes: [], datasets: ["*"] };
  const asPeer: Interceptor = (next) => async (request) => {
    request.header.set("authorization", `Bearer ${await signer.sign(identity)}`);
    return next(request);
  };
  const transport = (url: URL) =>
    createInternalTransport(url.origin, { maxMessageBytes: 64 << 20, interceptors: [asPeer] });
  return {
    query: createClient(QueryService, transport(system.queryd.url)),
    catalog: createClient(CatalogService, transport(system.catalogd.url)),
  };
}
