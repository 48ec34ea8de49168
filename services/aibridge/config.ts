import { z } from "zod";
import { serverSettings } from "../kit/server.js";

/**
 * The `aibridge` section of the config file; every key can also be set by
 * `LAKEHOUSE_AIBRIDGE_<KEY>`.
 */
export const aibridgeConfigSchema = z.object({
  ...serverSettings("127.0.0.1:7104"),
});

/** Validated `aibridge` settings. */
export type AibridgeConfig = z.output<typeof aibridgeConfigSchema>;
