/**
 * The container ID of a kubelet `containerID` value: its URL host, as Go's `net/url.Parse` computes it.
 *
 * @module
 */

const SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
// deno-lint-ignore no-control-regex
const CTL = /[\x00-\x1f\x7f]/;
const VALID_USERINFO = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
/**
 * A host of characters Go's `shouldEscape(c, encodeHost)` accepts unescaped (ASCII), any non-ASCII, and
 * `%XX` escapes; RFC 3986 allows escapes in a host only for non-ASCII bytes (`%80`–`%FF`) and `%25` (IPv6
 * zones), as Go checks.
 */
const VALID_HOST = /^(?:[A-Za-z0-9!$&'()*+,;=:[\]<>"\-_.~\u0080-\uffff]|%[89A-Fa-f][0-9A-Fa-f]|%25)*$/;

/**
 * The form every kubelet reports, `<scheme>://<id>` with only unreserved characters in the id (no userinfo,
 * port, path, query, fragment or escapes): its host is the id, exactly as the full parse
 * ({@linkcode parseContainerIdUrl}) finds it, in one match instead of several.
 */
const COMMON_FORM = /^[A-Za-z][A-Za-z0-9+\-.]*:\/\/([A-Za-z0-9\-_.~]+)$/;

/** Go `unescape(host, encodeHost)`; returns null on an error. */
function unescapeHost(host: string): string | null {
  if (!VALID_HOST.test(host)) return null;
  if (!host.includes("%")) return host;
  try {
    return decodeURIComponent(host);
  } catch {
    return null;
  }
}

/**
 * The URL host of a kubelet `containerID` (`<scheme>://[user@]<host>[:port][/path][?query][#fragment]`), as
 * Go's `net/url` computes it: `user@` is dropped, `:port` is kept, the comparison is case-sensitive.
 * Returns `null` when the value has no `scheme://` authority, an empty host, or does not parse (bad scheme,
 * control characters, bad port, bad escapes, invalid userinfo). Bracketed IPv6-literal hosts are never
 * container IDs and also give `null`. Deliberately stricter than Go in one place: a scheme-less `//<id>`
 * (which Go would parse with a host) gives `null`, because the kubelet always reports `<runtime>://<id>`.
 *
 * @example Runtime prefixes are stripped
 * ```ts
 * import assert from "node:assert/strict";
 * import { containerIdFromUrl } from "./container_id.ts";
 * assert.equal(containerIdFromUrl("containerd://0123abcd"), "0123abcd");
 * assert.equal(containerIdFromUrl("0123abcd"), null);
 * ```
 *
 * @param raw The `containerID` value.
 * @returns The host, or `null`.
 */
export function containerIdFromUrl(raw: string): string | null {
  const common = COMMON_FORM.exec(raw);
  return common !== null ? common[1] : parseContainerIdUrl(raw);
}

/**
 * The full parse behind {@linkcode containerIdFromUrl} (which answers the common form with one match):
 * exported so that tests can check that both agree on every input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseContainerIdUrl } from "./container_id.ts";
 * assert.equal(parseContainerIdUrl("containerd://user@0123abcd:42/p?q#f"), "0123abcd:42");
 * ```
 *
 * @param raw The `containerID` value.
 * @returns The host, or `null`.
 */
export function parseContainerIdUrl(raw: string): string | null {
  if (raw === "" || CTL.test(raw)) return null;
  const hashAt = raw.indexOf("#");
  const beforeFragment = hashAt < 0 ? raw : raw.slice(0, hashAt);
  if (hashAt >= 0 && BAD_ESCAPE.test(raw.slice(hashAt + 1))) return null;

  // Scheme: a letter, then letters, digits, "+", "-", "."; ends at the first ":".
  const colon = beforeFragment.indexOf(":");
  if (colon <= 0 || !SCHEME.test(beforeFragment.slice(0, colon))) return null;
  let rest = beforeFragment.slice(colon + 1);
  const queryAt = rest.indexOf("?");
  if (queryAt >= 0) rest = rest.slice(0, queryAt);
  if (!rest.startsWith("//")) return null; // opaque or path-only: no host

  rest = rest.slice(2);
  const slashAt = rest.indexOf("/");
  const authority = slashAt < 0 ? rest : rest.slice(0, slashAt);
  const path = slashAt < 0 ? "" : rest.slice(slashAt);
  if (BAD_ESCAPE.test(path)) return null;

  let host = authority;
  const atAt = authority.lastIndexOf("@");
  if (atAt >= 0) {
    const userinfo = authority.slice(0, atAt);
    if (!VALID_USERINFO.test(userinfo) || BAD_ESCAPE.test(userinfo)) return null;
    host = authority.slice(atAt + 1);
  }
  if (host.startsWith("[")) return null;
  const portAt = host.lastIndexOf(":");
  if (portAt >= 0 && !/^:[0-9]*$/.test(host.slice(portAt))) return null;
  const decoded = unescapeHost(host);
  return decoded === null || decoded === "" ? null : decoded;
}
