import { z } from "zod";

/** The highest TCP port; 0 asks the system for a free one. */
const maxPort = 65_535;

/**
 * A `HOST:PORT` listen setting, checked when config loads so a bad value
 * stops the process with a message naming the key and its variable, rather
 * than a Node error from `listen` naming neither.
 */
export function listenAddressSetting(defaultListen: string) {
  return z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, {
      message: "expected HOST:PORT, e.g. 127.0.0.1:8080",
      abort: true,
    })
    .refine((listen) => splitListenAddress(listen).port <= maxPort, {
      message: `expected a port from 0 to ${maxPort}`,
    })
    .default(defaultListen);
}

/** A `HOST:PORT` listen setting (validated by {@link listenAddressSetting}), split at its last colon. */
export function splitListenAddress(listen: string): { host: string; port: number } {
  const separator = listen.lastIndexOf(":");
  return { host: listen.slice(0, separator), port: Number(listen.slice(separator + 1)) };
}
