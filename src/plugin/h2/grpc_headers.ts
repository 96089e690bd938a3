/**
 * The header side of gRPC over HTTP/2 (the gRPC "PROTOCOL-HTTP2" spec) on the server: the checks a request's
 * headers must pass (`:method`, `content-type`, a known `:path`, `grpc-encoding`, `grpc-timeout`), the
 * `grpc-timeout` format, and the blocks we answer with: response headers, trailers with `grpc-status` and a
 * percent-encoded `grpc-message`, and Trailers-Only.
 *
 * @module
 */

import { asciiStatusMessage, GrpcCode } from "../grpc_status.ts";
import type { CallStatus } from "./grpc_method.ts";
import { encodeHeaders, type HeaderField } from "./hpack.ts";

const CONTENT_TYPE = "application/grpc";

/** The response headers of a call that answers with messages (`:status 200`, `content-type`). */
export const RESPONSE_HEADERS: Uint8Array = encodeHeaders([[":status", "200"], [
  "content-type",
  CONTENT_TYPE,
]]);
/** The trailers of a call that ended OK after its response headers. */
export const OK_TRAILERS: Uint8Array = encodeHeaders([["grpc-status", "0"]]);

/**
 * Percent-encodes a `grpc-message` as the gRPC spec says (and grpc-go does): bytes outside 0x20–0x7E and
 * `%` become `%XX` of their UTF-8 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeGrpcMessage } from "./grpc_headers.ts";
 * assert.equal(encodeGrpcMessage("50% done"), "50%25 done");
 * assert.equal(encodeGrpcMessage("a\nb"), "a%0Ab");
 * assert.equal(encodeGrpcMessage("café"), "caf%C3%A9");
 * ```
 *
 * @param message The status message.
 * @returns The header value.
 */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = "";
  for (const b of new TextEncoder().encode(message)) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Parses `grpc-timeout` (1–8 digits and a unit H, M, S, m, u, n) into milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGrpcTimeout } from "./grpc_headers.ts";
 * assert.equal(parseGrpcTimeout("1500m"), 1500);
 * assert.equal(parseGrpcTimeout("2S"), 2000);
 * assert.equal(parseGrpcTimeout("9x"), null);
 * ```
 *
 * @param value The header value.
 * @returns Milliseconds, or null when malformed.
 */
export function parseGrpcTimeout(value: string): number | null {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[m[2] as "H"];
  return n * unit;
}

/**
 * The block that ends a call with `status`: trailers after response headers, or the whole response
 * (Trailers-Only, with `:status` and `content-type`). The message is made plain and bounded first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OK_TRAILERS, trailersBlock } from "./grpc_headers.ts";
 * import { HpackDecoder } from "./hpack.ts";
 * assert.equal(trailersBlock({ code: 0, details: "" }, false), OK_TRAILERS);
 * const fields = new HpackDecoder({ maxHeaderListSize: 4096 }).decode(trailersBlock({ code: 5, details: "no pod" }, true));
 * assert.deepEqual(fields.map(([n]) => n), [":status", "content-type", "grpc-status", "grpc-message"]);
 * ```
 *
 * @param status The status.
 * @param trailersOnly Whether no response headers were sent.
 * @returns The HPACK-encoded block.
 */
export function trailersBlock(status: CallStatus, trailersOnly: boolean): Uint8Array {
  if (status.code === GrpcCode.OK && !trailersOnly) return OK_TRAILERS;
  const fields: HeaderField[] = trailersOnly ? [[":status", "200"], ["content-type", CONTENT_TYPE]] : [];
  fields.push(["grpc-status", String(status.code)]);
  // Bounded and plain whatever made it (a handler, or this module echoing the request's path).
  if (status.details !== "") {
    fields.push(["grpc-message", encodeGrpcMessage(asciiStatusMessage(status.details))]);
  }
  return encodeHeaders(fields);
}

/**
 * Why a request cannot be served, as the status to answer it with (Trailers-Only), or null: not a POST,
 * not `application/grpc`, an unknown method (UNIMPLEMENTED), a compressed encoding (UNIMPLEMENTED, we
 * install no decompressor), or a malformed `grpc-timeout`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grpcRequestProblem } from "./grpc_headers.ts";
 * const h: Record<string, string> = { ":method": "POST", "content-type": "application/grpc+proto" };
 * assert.equal(grpcRequestProblem((n) => h[n], "/a/B", true), null);
 * assert.equal(grpcRequestProblem((n) => h[n], "/a/C", false)?.code, 12);
 * ```
 *
 * @param header The first value of a request header.
 * @param path The `:path`.
 * @param known Whether a method is registered at `path`.
 * @returns The status, or null.
 */
export function grpcRequestProblem(
  header: (name: string) => string | undefined,
  path: string,
  known: boolean,
): CallStatus | null {
  const ct = header("content-type") ?? "";
  if (header(":method") !== "POST") {
    return { code: GrpcCode.INTERNAL, details: `method ${header(":method")} is not POST` };
  }
  if (ct !== CONTENT_TYPE && !ct.startsWith(CONTENT_TYPE + "+") && !ct.startsWith(CONTENT_TYPE + ";")) {
    return { code: GrpcCode.INTERNAL, details: `content-type "${ct}" is not application/grpc` };
  }
  if (!known) {
    return { code: GrpcCode.UNIMPLEMENTED, details: `unknown method ${path}` };
  }
  const encoding = header("grpc-encoding");
  if (encoding !== undefined && encoding !== "identity") {
    return {
      code: GrpcCode.UNIMPLEMENTED,
      details: `grpc: Decompressor is not installed for grpc-encoding "${encoding}"`,
    };
  }
  const timeout = header("grpc-timeout");
  if (timeout !== undefined && parseGrpcTimeout(timeout) === null) {
    return { code: GrpcCode.INTERNAL, details: `malformed grpc-timeout "${timeout}"` };
  }
  return null;
}
