import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorReason } from "../errors.js";
import type { CallerIdentity } from "./caller-identity.js";
import { createInternalTokenSigner, createInternalTokenVerifier } from "./internal-token.js";

const secret = new TextEncoder().encode("a shared secret of thirty-two bytes!");
const identity: CallerIdentity = { subject: "ada", scopes: ["query.read"], datasets: ["sales"] };

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (error: unknown) => ConnectError.from(error),
  );

afterEach(() => {
  vi.useRealTimers();
});

describe("internal tokens", () => {
  it("carry the caller and the calling service, and one token verifies to one caller object", async () => {
    const signer = createInternalTokenSigner({ secret, service: "queryd", ttlSeconds: 60 });
    const verifier = createInternalTokenVerifier({ secret });
    const token = await signer.sign(identity);
    const first = await verifier.verify(token);
    expect(first).toEqual({ service: "queryd", identity });
    expect(await verifier.verify(token)).toBe(first);
  });

  it("refuses a remembered token once its exp and the clock tolerance have passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const signer = createInternalTokenSigner({ secret, service: "gateway", ttlSeconds: 10 });
    const verifier = createInternalTokenVerifier({ secret });
    const token = await signer.sign(identity);
    expect((await verifier.verify(token)).identity.subject).toBe("ada");
    vi.setSystemTime(Date.now() + 16_000);
    const error = await refusal(verifier.verify(token));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(errorReason(error)).toBe("TOKEN_EXPIRED");
  });

  it("refuses a token issued in the future beyond the clock tolerance", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const signer = createInternalTokenSigner({ secret, service: "gateway", ttlSeconds: 6000 });
    const verifier = createInternalTokenVerifier({ secret });
    vi.setSystemTime(Date.now() + 3_000_000);
    const token = await signer.sign(identity);
    vi.useRealTimers();
    const error = await refusal(verifier.verify(token));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(errorReason(error)).toBe("TOKEN_CLAIM_INVALID");
    expect(error.rawMessage).toContain('"iat"');
  });

  it("refuses a token signed with another secret, however often it is presented", async () => {
    const other = createInternalTokenSigner({
      secret: new TextEncoder().encode("another secret, also thirty-two bytes"),
      service: "gateway",
      ttlSeconds: 60,
    });
    const verifier = createInternalTokenVerifier({ secret });
    const token = await other.sign(identity);
    for (let i = 0; i < 2; i++) {
      expect((await refusal(verifier.verify(token))).code).toBe(Code.Unauthenticated);
    }
  });
});
