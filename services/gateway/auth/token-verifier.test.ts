import { Code, ConnectError } from "@connectrpc/connect";
import type { JWTPayload } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { errorReason } from "../../kit/errors.js";
import { gatewayConfigSchema } from "../config.js";
import { createTestAuth, type TestAuth } from "../testing/test-auth.js";
import type { KeySource } from "./key-source.js";
import { createTokenVerifier } from "./token-verifier.js";

let auth: TestAuth;
const settings = {
  ...gatewayConfigSchema.parse({}).auth,
  algorithms: ["EdDSA" as const],
  clockToleranceSeconds: 0,
};
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The test key source, counting how often a signature had to be checked. */
function countingKeys(): { keys: KeySource; lookups: () => number } {
  let lookups = 0;
  return {
    keys: (header, token) => {
      lookups++;
      return auth.keys(header, token);
    },
    lookups: () => lookups,
  };
}

async function refusal(work: Promise<unknown>): Promise<ConnectError> {
  try {
    await work;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected a refusal");
}

const token = (claims: JWTPayload = {}) => auth.token({ exp: nowSeconds() + 600, ...claims });

beforeAll(async () => {
  auth = await createTestAuth();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("token verifier cache", () => {
  it("checks a token's signature once and serves its repeats as the very same caller", async () => {
    const { keys, lookups } = countingKeys();
    const verifier = createTokenVerifier(settings, keys);
    const bearer = await token();
    const first = await verifier.verify(bearer);
    const second = await verifier.verify(bearer);
    expect(second).toBe(first);
    expect(lookups()).toBe(1);
    const other = await verifier.verify(await token({ sub: "someone-else" }));
    expect(other.subject).toBe("someone-else");
    expect(lookups()).toBe(2);
  });

  it("refuses a remembered token once its exp has passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const verifier = createTokenVerifier(settings, auth.keys);
    const bearer = await token({ exp: nowSeconds() + 10 });
    expect((await verifier.verify(bearer)).subject).toBe("tester");
    vi.setSystemTime(Date.now() + 11_000);
    const error = await refusal(verifier.verify(bearer));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(errorReason(error)).toBe("TOKEN_EXPIRED");
  });

  it("checks a remembered token again after maxAgeMs, so a withdrawn key stops it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    let keyWithdrawn = false;
    const keys: KeySource = (header, jwt) => {
      if (keyWithdrawn) return auth.keys({ ...header, kid: "withdrawn" }, jwt);
      return auth.keys(header, jwt);
    };
    const verifier = createTokenVerifier(settings, keys, { capacity: 10, maxAgeMs: 5_000 });
    const bearer = await token();
    await verifier.verify(bearer);
    keyWithdrawn = true;
    await expect(verifier.verify(bearer)).resolves.toMatchObject({ subject: "tester" });
    vi.setSystemTime(Date.now() + 5_001);
    const error = await refusal(verifier.verify(bearer));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(errorReason(error)).toBe("TOKEN_KEY_UNKNOWN");
  });

  it("never remembers a refusal: a token not yet valid is served once its nbf has come", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const verifier = createTokenVerifier(settings, auth.keys);
    const bearer = await token({ nbf: nowSeconds() + 30 });
    expect((await refusal(verifier.verify(bearer))).code).toBe(Code.Unauthenticated);
    vi.setSystemTime(Date.now() + 31_000);
    expect((await verifier.verify(bearer)).subject).toBe("tester");
  });

  it("refuses a token issued later than now plus the clock tolerance, and never remembers it", async () => {
    const verifier = createTokenVerifier({ ...settings, clockToleranceSeconds: 30 }, auth.keys);
    const future = await token({ iat: nowSeconds() + 3000 });
    for (let i = 0; i < 2; i++) {
      const error = await refusal(verifier.verify(future));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(errorReason(error)).toBe("TOKEN_CLAIM_INVALID");
      expect(error.rawMessage).toBe('the bearer token\'s "iat" claim is not acceptable');
    }
    const skewed = await verifier.verify(await token({ iat: nowSeconds() + 20 }));
    expect(skewed.subject).toBe("tester");
  });

  it("forgets the least recently used token beyond its capacity", async () => {
    const { keys, lookups } = countingKeys();
    const verifier = createTokenVerifier(settings, keys, { capacity: 1, maxAgeMs: 60_000 });
    const [a, b] = [await token({ sub: "a" }), await token({ sub: "b" })];
    await verifier.verify(a);
    await verifier.verify(b);
    await verifier.verify(a);
    expect(lookups()).toBe(3);
    await verifier.verify(a);
    expect(lookups()).toBe(3);
  });
});
