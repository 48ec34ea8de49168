import { create } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { createInternalTransport } from "../kit/internal-transport.js";
import { createForwardingService } from "./forwarding-service.js";
import { type FixtureUpstreams, startFixtureUpstreams } from "./testing/fixture-upstreams.js";

let upstreams: FixtureUpstreams;

beforeAll(async () => {
  upstreams = await startFixtureUpstreams();
});

afterAll(async () => {
  await upstreams.shutdown();
});

describe("createForwardingService", () => {
  it("forwards a bidi stream message by message: an answer arrives before the next request is sent", async () => {
    // Reflection is the bidi RPC every kit server serves; forward it to one.
    const upstream = createInternalTransport(upstreams.urls.storageUrl, {
      maxMessageBytes: 1024 * 1024,
    });
    const client = createClient(
      ServerReflection,
      createRouterTransport((router) =>
        createForwardingService(ServerReflection, upstream).register(router),
      ),
    );
    let firstAnswered: () => void = () => {};
    const answered = new Promise<void>((resolve) => {
      firstAnswered = resolve;
    });
    async function* requests(): AsyncGenerator<ServerReflectionRequest> {
      yield create(ServerReflectionRequestSchema, {
        messageRequest: { case: "listServices", value: "" },
      });
      await answered;
      yield create(ServerReflectionRequestSchema, {
        messageRequest: {
          case: "fileContainingSymbol",
          value: "lakehouse.storage.v1.StorageService",
        },
      });
    }
    const cases: string[] = [];
    for await (const response of client.serverReflectionInfo(requests(), { timeoutMs: 5_000 })) {
      cases.push(response.messageResponse.case ?? "none");
      firstAnswered();
    }
    expect(cases).toEqual(["listServicesResponse", "fileDescriptorResponse"]);
  });
});
