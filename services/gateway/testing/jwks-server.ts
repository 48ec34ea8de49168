import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { JWK } from "jose";

/** A JWKS endpoint on loopback whose keys and availability a test controls. */
export interface JwksServer {
  readonly url: string;
  /** GET requests served so far (answered or refused). */
  fetches(): number;
  /** Serves these keys from now on (a rotation). */
  setKeys(keys: JWK[]): void;
  /** While down, every request is answered 503. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** Starts a JWKS endpoint on a free loopback port, serving `keys`. */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let current = keys;
  let down = false;
  let fetches = 0;
  const server = createServer((_request, response) => {
    fetches += 1;
    if (down) {
      response.writeHead(503).end();
      return;
    }
    response
      .writeHead(200, { "content-type": "application/jwk-set+json" })
      .end(JSON.stringify({ keys: current }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    fetches: () => fetches,
    setKeys: (next) => {
      current = next;
    },
    setDown: (value) => {
      down = value;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
