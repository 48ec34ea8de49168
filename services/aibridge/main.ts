import { AiService } from "../../gen/lakehouse/ai/v1/ai_pb.js";
import { runService } from "../kit/run-service.js";
import { registration } from "../kit/server.js";
import { aibridgeConfigSchema } from "./config.js";

// The AI RPCs are contract-only so far: every call answers UNIMPLEMENTED.
await runService({
  name: "aibridge",
  schema: aibridgeConfigSchema,
  async build() {
    return { services: [registration(AiService, {})] };
  },
});
