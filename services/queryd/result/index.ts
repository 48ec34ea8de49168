export type { ArrowBatchOptions } from "./arrow-batch-builder.js";
export { endOfStream, schemaMessage } from "./arrow-ipc-messages.js";
export type { ArrowBatchMessage, ArrowResultEncoder } from "./arrow-result-encoder.js";
export { createArrowResultEncoder } from "./arrow-result-encoder.js";
export type { ArrowMapping } from "./arrow-type-mapping.js";
export {
  arrowLayoutFor,
  arrowMappingFor,
  arrowTypeFor,
} from "./arrow-type-mapping.js";
export type { JsonRowEncoder } from "./json-rows.js";
export { createJsonRowEncoder } from "./json-rows.js";
export type { JsonValue } from "./json-value.js";
export { jsonValueFor } from "./json-value.js";
