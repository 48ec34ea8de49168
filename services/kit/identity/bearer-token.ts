import type * as http from "node:http";
import type * as http2 from "node:http2";
import {
  Code,
  type ContextValues,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";
import { serviceError } from "../errors.js";

/**
 * Every `authorization` field of the request exactly as received. Node keeps
 * only the first of repeated `authorization` fields in `request.headers` (and
 * so in the `Headers` connect builds), on HTTP/1.1 and HTTP/2 alike; the raw
 * list is what lets "exactly one header" be enforced.
 */
const authorizationFieldsKey = createContextKey<readonly string[] | undefined>(undefined, {
  description: "raw authorization fields",
});

/**
 * The context values every kit server starts a call with: the raw
 * `authorization` fields, read from the HTTP request before connect sees it.
 */
export function requestContextValues(
  request: http.IncomingMessage | http2.Http2ServerRequest,
): ContextValues {
  const fields: string[] = [];
  const raw = request.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    if (raw[index]?.toLowerCase() === "authorization") fields.push(raw[index + 1] ?? "");
  }
  return createContextValues().set(authorizationFieldsKey, fields);
}

/** Where a call's bearer token is read from. */
export interface BearerSource {
  readonly header: Headers;
  readonly contextValues: ContextValues;
}

const bearer = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/**
 * Reads the token of the one `authorization: Bearer <token>` field, the same
 * for gRPC, Connect and gRPC-Web. Anything else is refused before any token
 * work: no field, two fields, another scheme or a lower-case `bearer`, an
 * empty token, or a field longer than `maxTokenBytes` (checked first, so a
 * huge token costs nothing). Messages never quote the token.
 *
 * @throws ConnectError UNAUTHENTICATED with reason `TOKEN_MISSING`,
 * `TOKEN_TOO_LARGE` or `TOKEN_MALFORMED`.
 */
export function readBearerToken(source: BearerSource, maxTokenBytes: number): string {
  const fields = source.contextValues.get(authorizationFieldsKey) ?? headerFields(source.header);
  if (fields.length === 0) {
    throw serviceError(
      Code.Unauthenticated,
      "TOKEN_MISSING",
      "this call needs an authorization: Bearer <token> header",
    );
  }
  if (fields.length > 1) {
    throw serviceError(
      Code.Unauthenticated,
      "TOKEN_MALFORMED",
      "send exactly one authorization header",
    );
  }
  const field = fields[0] ?? "";
  if (field.length > maxTokenBytes + "Bearer ".length) {
    throw serviceError(
      Code.Unauthenticated,
      "TOKEN_TOO_LARGE",
      `the bearer token is longer than ${maxTokenBytes} bytes`,
    );
  }
  const match = bearer.exec(field);
  if (!match?.[1]) {
    throw serviceError(
      Code.Unauthenticated,
      "TOKEN_MALFORMED",
      "the authorization header must read: Bearer <token>",
    );
  }
  return match[1];
}

/** The fields when no kit server read the raw request (in-memory router transports). */
function headerFields(header: Headers): string[] {
  const value = header.get("authorization");
  return value === null ? [] : [value];
}
