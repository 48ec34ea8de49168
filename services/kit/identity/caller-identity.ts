import {
  Code,
  type ContextValues,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";
import { serviceError } from "../errors.js";

/**
 * Who a call is made for: the end user the gateway authenticated, carried
 * unchanged across every internal hop so the services that own data
 * (catalogd, queryd) can apply the user's dataset grants themselves.
 */
export interface CallerIdentity {
  /** The token's `sub`: a user, or a service account. */
  readonly subject: string;
  /** The scopes the token granted; checked at the gateway against the scope table. */
  readonly scopes: readonly string[];
  /** Dataset grant patterns (`sales_*`, `*`); see dataset-grants.ts. */
  readonly datasets: readonly string[];
}

/**
 * Where the server interceptors (the gateway's authentication, the internal
 * services' credential check) leave the caller for handlers: handlers read
 * identity from the context, never from headers.
 */
export const callerIdentityKey = createContextKey<CallerIdentity | undefined>(undefined, {
  description: "lakehouse caller identity",
});

/**
 * The peer service whose internal token a call carries (`gateway`,
 * `queryd`, ...). `gateway` means the call came from outside, on the end
 * user's behalf alone; storaged keeps such calls out of the catalog's keys.
 */
export const callingServiceKey = createContextKey<string | undefined>(undefined, {
  description: "lakehouse calling service",
});

/** The caller of this call, or undefined when no authentication interceptor ran. */
export function identityOf(values: ContextValues): CallerIdentity | undefined {
  return values.get(callerIdentityKey);
}

/**
 * The caller of this call. Handlers that enforce grants use this so a server
 * wired without its authentication interceptor fails closed.
 *
 * @throws ConnectError UNAUTHENTICATED (reason `IDENTITY_MISSING`).
 */
export function requireIdentity(values: ContextValues): CallerIdentity {
  const identity = identityOf(values);
  if (identity === undefined) {
    throw serviceError(Code.Unauthenticated, "IDENTITY_MISSING", "the call carries no identity");
  }
  return identity;
}

/**
 * Context values naming `identity` for an outgoing call, so the internal
 * credential interceptor carries it: for tools and tests that call a service
 * as a given user (`{ contextValues: callingAs(identity) }`).
 */
export function callingAs(identity: CallerIdentity): ContextValues {
  return createContextValues().set(callerIdentityKey, identity);
}
