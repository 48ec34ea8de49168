import { configEnvironmentNames } from "../kit/config.js";
import { localUrl, type ServiceProcess } from "./launcher.js";
import { serviceConfigSchemas } from "./system-config.js";

/** The service each peer-address setting (`queryd.catalogUrl`, `gateway.aiUrl`, ...) names. */
const PEER_OF_SETTING: Record<string, string> = {
  storageUrl: "storaged",
  catalogUrl: "catalogd",
  queryUrl: "queryd",
  aiUrl: "aibridge",
};

/**
 * Environment overrides that point every service's peer addresses at the
 * peers this launcher starts, from their `listen` settings. Under `npm start`
 * the services only ever talk to each other, so moving a port takes its
 * `listen` alone, and a stale `*Url` cannot leave a system that says it is
 * running while every call fails.
 */
export function peerUrlEnvironment(services: readonly ServiceProcess[]): Record<string, string> {
  const listenOf = new Map(services.map((service) => [service.name, service.listen]));
  const environment: Record<string, string> = {};
  for (const [section, schema] of Object.entries(serviceConfigSchemas)) {
    for (const [setting, variable] of configEnvironmentNames(section, schema)) {
      const peer = PEER_OF_SETTING[setting.slice(section.length + 1)];
      const listen = peer === undefined ? undefined : listenOf.get(peer);
      if (listen !== undefined) environment[variable] = localUrl(listen);
    }
  }
  return environment;
}
