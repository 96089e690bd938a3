/**
 * The checks RFC 9113 §8.3 makes of a request's header list before a stream is handed to the gRPC layer:
 * pseudo-headers first, known, not repeated, and `:method`, `:scheme`, `:path` present; names in lower case;
 * no connection-specific headers; `te` only as `trailers`.
 *
 * @module
 */

import type { HeaderField } from "./hpack.ts";

const PSEUDO_REQUEST = new Set([":method", ":scheme", ":path", ":authority"]);

/**
 * What makes a request header list malformed (RFC 9113 §8.3), or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestHeaderProblem } from "./request_headers.ts";
 * const ok: [string, string][] = [[":method", "POST"], [":scheme", "http"], [":path", "/a/b"], ["te", "trailers"]];
 * assert.equal(requestHeaderProblem(ok), null);
 * assert.equal(requestHeaderProblem([...ok, [":authority", "x"]]), "pseudo-header :authority after a regular header");
 * ```
 *
 * @param fields The decoded header fields, in order.
 * @returns The problem, or null.
 */
export function requestHeaderProblem(fields: readonly HeaderField[]): string | null {
  let regular = false;
  const seen = new Set<string>();
  for (const [name, value] of fields) {
    if (name.startsWith(":")) {
      if (regular) return `pseudo-header ${name} after a regular header`;
      if (!PSEUDO_REQUEST.has(name)) return `unknown pseudo-header ${name}`;
      if (seen.has(name)) return `repeated pseudo-header ${name}`;
      seen.add(name);
    } else {
      regular = true;
      if (name !== name.toLowerCase()) return `upper-case header name ${JSON.stringify(name)}`;
      if (name === "connection" || name === "transfer-encoding" || name === "keep-alive") {
        return `connection-specific header ${name}`;
      }
      if (name === "te" && value !== "trailers") return `te header "${value}"`;
    }
  }
  for (const name of [":method", ":scheme", ":path"]) if (!seen.has(name)) return `missing ${name}`;
  return null;
}
