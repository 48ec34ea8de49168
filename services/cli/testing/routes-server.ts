import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

/** A plaintext HTTP/2 gRPC server on a free loopback port, for the CLI to call. */
export interface RoutesServer {
  /** `http://127.0.0.1:<port>`, for `--url` or `LAKEHOUSE_URL`. */
  readonly url: string;
  /** Stops it; the CLI's idle HTTP/2 sessions, which `close()` alone would wait for, end too. */
  close(): Promise<void>;
}

/** Serves `routes` (real service implementations) the way the gateway serves gRPC. */
export async function startRoutesServer(
  routes: (router: ConnectRouter) => void,
): Promise<RoutesServer> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer(connectNodeAdapter({ routes }));
  server.on("session", (session) => sessions.add(session));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
