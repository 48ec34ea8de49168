/** A `HOST:PORT` listen setting (validated by `serverSettings`), split at its last colon. */
export function splitListenAddress(listen: string): { host: string; port: number } {
  const separator = listen.lastIndexOf(":");
  return { host: listen.slice(0, separator), port: Number(listen.slice(separator + 1)) };
}
