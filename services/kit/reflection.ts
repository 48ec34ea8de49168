import { create, type DescFile, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/**
 * Serves gRPC server reflection for a set of services, so `grpcurl list` and
 * `buf curl --list-methods` work with no proto files at hand. Answers carry a
 * file together with all files it imports, which is what those tools expect.
 */
export function createReflectionService(
  services: DescService[],
): ServiceImpl<typeof ServerReflection> {
  const index = createDescriptorIndex([...services, ServerReflection, ServerReflectionV1alpha]);
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield answer(index, request);
      }
    },
  };
}

/**
 * The deprecated v1alpha protocol is the same on the wire as v1, so it is
 * served by re-encoding each message through the v1 implementation.
 */
export function createReflectionServiceV1alpha(
  services: DescService[],
): ServiceImpl<typeof ServerReflectionV1alpha> {
  const index = createDescriptorIndex([...services, ServerReflection, ServerReflectionV1alpha]);
  const requestSchema = ServerReflectionV1alpha.method.serverReflectionInfo.input;
  const responseSchema = ServerReflectionV1alpha.method.serverReflectionInfo.output;
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        const v1Request = fromBinary(
          ServerReflectionRequestSchema,
          toBinary(requestSchema, request),
        );
        const v1Response = answer(index, v1Request);
        yield fromBinary(responseSchema, toBinary(ServerReflectionResponseSchema, v1Response));
      }
    },
  };
}

interface DescriptorIndex {
  serviceNames: string[];
  filesByName: Map<string, DescFile>;
  filesBySymbol: Map<string, DescFile>;
}

function createDescriptorIndex(services: DescService[]): DescriptorIndex {
  const filesByName = new Map<string, DescFile>();
  const filesBySymbol = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    const name = `${file.name}.proto`;
    if (filesByName.has(name)) return;
    filesByName.set(name, file);
    const symbols = [
      ...file.services.flatMap((s) => [
        s.typeName,
        ...s.methods.map((m) => `${s.typeName}.${m.name}`),
      ]),
      ...file.enums.map((e) => e.typeName),
      ...file.extensions.map((e) => e.typeName),
      ...allMessages(file).map((m) => m.typeName),
    ];
    for (const symbol of symbols) filesBySymbol.set(symbol, file);
    for (const dependency of file.dependencies) visit(dependency);
  };
  for (const service of services) visit(service.file);
  return {
    serviceNames: [...new Set(services.map((s) => s.typeName))],
    filesByName,
    filesBySymbol,
  };
}

function allMessages(file: DescFile) {
  const out = [];
  const stack = [...file.messages];
  while (stack.length > 0) {
    const message = stack.pop();
    if (message === undefined) break;
    out.push(message);
    stack.push(...message.nestedMessages);
  }
  return out;
}

function answer(
  index: DescriptorIndex,
  request: ServerReflectionRequest,
): ServerReflectionResponse {
  const base = { validHost: request.host, originalRequest: request };
  const files = (file: DescFile | undefined, what: string): ServerReflectionResponse => {
    if (file === undefined) {
      return create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "errorResponse",
          value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
        },
      });
    }
    return create(ServerReflectionResponseSchema, {
      ...base,
      messageResponse: {
        case: "fileDescriptorResponse",
        value: { fileDescriptorProto: withDependencies(file).map(encodeFile) },
      },
    });
  };
  const message = request.messageRequest;
  switch (message.case) {
    case "listServices":
      return create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "listServicesResponse",
          value: { service: index.serviceNames.map((name) => ({ name })) },
        },
      });
    case "fileByFilename":
      return files(index.filesByName.get(message.value), `file ${message.value}`);
    case "fileContainingSymbol":
      return files(index.filesBySymbol.get(message.value), `symbol ${message.value}`);
    case "fileContainingExtension":
      return files(
        undefined,
        `extension ${message.value.extensionNumber} of ${message.value.containingType}`,
      );
    case "allExtensionNumbersOfType":
      return create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: message.value, extensionNumber: [] },
        },
      });
    default:
      return create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
        },
      });
  }
}

/** The file first, then everything it imports, each once. */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (current: DescFile) => {
    if (seen.has(current.name)) return;
    seen.set(current.name, current);
    for (const dependency of current.dependencies) visit(dependency);
  };
  visit(file);
  return [...seen.values()];
}

function encodeFile(file: DescFile): Uint8Array {
  return toBinary(FileDescriptorProtoSchema, file.proto);
}
