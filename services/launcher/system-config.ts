import type { z } from "zod";
import { aibridgeConfigSchema } from "../aibridge/config.js";
import { catalogdConfigSchema } from "../catalogd/config.js";
import { gatewayConfigSchema } from "../gateway/config.js";
import { querydConfigSchema } from "../queryd/config.js";
import { storagedConfigSchema } from "../storaged/config.js";

/** Every service's config schema, by section name, in the order the launcher starts them. */
export const serviceConfigSchemas = {
  storaged: storagedConfigSchema,
  catalogd: catalogdConfigSchema,
  queryd: querydConfigSchema,
  aibridge: aibridgeConfigSchema,
  gateway: gatewayConfigSchema,
} satisfies Record<string, z.ZodObject>;
