/**
 * SPIFFE ID validation as go-spiffe's `spiffeid.FromString` does it (same rules, same error texts), for
 * broker IDs in the configuration and the broker caller ID of a request.
 *
 * @module
 */

const TRUST_DOMAIN_CHAR = /^[a-z0-9._-]$/;
const PATH_CHAR = /^[A-Za-z0-9._-]$/;

/**
 * Checks a SPIFFE ID: `spiffe://<trust domain>[/<segment>...]`, trust domain of lowercase letters, digits,
 * `.`, `-`, `_`; path segments of letters, digits, `.`, `-`, `_`, none empty, `.` or `..`, no trailing `/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spiffeIdProblem } from "./spiffe_id.ts";
 * assert.equal(spiffeIdProblem("spiffe://example.org/broker"), null);
 * assert.equal(spiffeIdProblem("https://example.org/broker"), "scheme is missing or invalid");
 * assert.equal(spiffeIdProblem("spiffe://example.org/a//b"), "path cannot contain empty segments");
 * ```
 *
 * @param id The text.
 * @returns null when valid, else go-spiffe's error text.
 */
export function spiffeIdProblem(id: string): string | null {
  if (id === "") return "cannot be empty";
  const prefix = "spiffe://";
  if (!id.startsWith(prefix)) return "scheme is missing or invalid";
  let i = prefix.length;
  for (; i < id.length && id[i] !== "/"; i++) {
    if (!TRUST_DOMAIN_CHAR.test(id[i])) {
      return "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores";
    }
  }
  if (i === prefix.length) return "trust domain is missing";
  const path = id.slice(i);
  if (path === "") return null;
  const segments = path.slice(1).split("/");
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s];
    if (segment === "") {
      return s === segments.length - 1
        ? "path cannot have a trailing slash"
        : "path cannot contain empty segments";
    }
    if (segment === "." || segment === "..") return "path cannot contain dot segments";
    for (const c of segment) {
      if (!PATH_CHAR.test(c)) {
        return "path segment characters are limited to letters, numbers, dots, dashes, and underscores";
      }
    }
  }
  return null;
}
