import { BinaryReader, type WireType } from "@bufbuild/protobuf/wire";

/** An attribute value as OTLP's AnyValue carries it (arrays flattened to their values). */
export type OtlpValue = string | boolean | bigint | number | Uint8Array | OtlpValue[];

/** One span of an ExportTraceServiceRequest, the fields the tests read. */
export interface OtlpSpan {
  /** `service.name` of the resource that sent it. */
  service: string;
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, OtlpValue>;
  /** OTLP's StatusCode: 0 unset, 1 ok, 2 error. */
  statusCode: number;
}

/** The OTLP span kinds the tests compare against. */
export const SpanKindOtlp = { internal: 1, server: 2, client: 3 } as const;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** Calls `onField` for every field of a message; unknown fields must be skipped by it. */
function fields(
  bytes: Uint8Array,
  onField: (field: number, reader: BinaryReader, wire: WireType) => void,
) {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wire] = reader.tag();
    const before = reader.pos;
    onField(field, reader, wire);
    if (reader.pos === before) reader.skip(wire, field);
  }
}

function anyValue(bytes: Uint8Array): OtlpValue {
  let value: OtlpValue = "";
  fields(bytes, (field, reader) => {
    if (field === 1) value = reader.string();
    else if (field === 2) value = reader.bool();
    else if (field === 3) value = BigInt(reader.int64());
    else if (field === 4) value = reader.double();
    else if (field === 5) {
      const items: OtlpValue[] = [];
      fields(reader.bytes(), (inner, itemReader) => {
        if (inner === 1) items.push(anyValue(itemReader.bytes()));
      });
      value = items;
    } else if (field === 7) value = reader.bytes();
  });
  return value;
}

function keyValue(bytes: Uint8Array): [string, OtlpValue] {
  let key = "";
  let value: OtlpValue = "";
  fields(bytes, (field, reader) => {
    if (field === 1) key = reader.string();
    else if (field === 2) value = anyValue(reader.bytes());
  });
  return [key, value];
}

function span(bytes: Uint8Array, service: string): OtlpSpan {
  const decoded: OtlpSpan = {
    service,
    traceId: "",
    spanId: "",
    parentSpanId: "",
    name: "",
    kind: 0,
    attributes: {},
    statusCode: 0,
  };
  fields(bytes, (field, reader) => {
    if (field === 1) decoded.traceId = hex(reader.bytes());
    else if (field === 2) decoded.spanId = hex(reader.bytes());
    else if (field === 4) decoded.parentSpanId = hex(reader.bytes());
    else if (field === 5) decoded.name = reader.string();
    else if (field === 6) decoded.kind = reader.int32();
    else if (field === 9) {
      const [key, value] = keyValue(reader.bytes());
      decoded.attributes[key] = value;
    } else if (field === 15) {
      fields(reader.bytes(), (statusField, statusReader) => {
        if (statusField === 3) decoded.statusCode = statusReader.int32();
      });
    }
  });
  return decoded;
}

/**
 * Decodes an `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`
 * (OTLP/HTTP protobuf body): resource_spans(1) → resource(1).attributes(1),
 * scope_spans(2) → spans(2) → trace_id(1), span_id(2), parent_span_id(4),
 * name(5), kind(6), attributes(9), status(15).code(3).
 */
export function decodeExportTraceRequest(body: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  fields(body, (field, reader) => {
    if (field !== 1) return;
    let service = "";
    const spanBytes: Uint8Array[] = [];
    fields(reader.bytes(), (resourceField, resourceReader) => {
      if (resourceField === 1) {
        fields(resourceReader.bytes(), (attributeField, attributeReader) => {
          if (attributeField !== 1) return;
          const [key, value] = keyValue(attributeReader.bytes());
          if (key === "service.name") service = String(value);
        });
      } else if (resourceField === 2) {
        fields(resourceReader.bytes(), (scopeField, scopeReader) => {
          if (scopeField === 2) spanBytes.push(scopeReader.bytes());
        });
      }
    });
    for (const bytes of spanBytes) spans.push(span(bytes, service));
  });
  return spans;
}
