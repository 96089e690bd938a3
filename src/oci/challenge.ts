/**
 * A parser of the `WWW-Authenticate` header (RFC 7235 §4.1): one or more challenges, each an auth scheme
 * followed by a token68 or by comma-separated `name=value` parameters whose values are tokens or quoted
 * strings. Registries send `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. The parser is
 * strict: anything outside the grammar (an unterminated quote, a control character, a repeated parameter)
 * is an error, so a hostile header cannot be read two ways.
 *
 * @module
 */

/** One challenge of a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** The auth scheme, lowercased (`bearer`, `basic`, …). */
  readonly scheme: string;
  /** The parameters, names lowercased, values unquoted and unescaped. */
  readonly params: ReadonlyMap<string, string>;
  /** The token68 form (`Negotiate abc==`), or null when the challenge has parameters or nothing. */
  readonly token68: string | null;
}

/** Thrown by {@linkcode parseWwwAuthenticate} for a header outside the RFC 7235 grammar. */
export class ChallengeSyntaxError extends Error {
  /** @param message What is wrong and where (a character offset). */
  constructor(message: string) {
    super(message);
    this.name = "ChallengeSyntaxError";
  }
}

/** The longest header accepted: far above any real challenge, so a hostile one costs little. */
export const MAX_CHALLENGE_CHARS = 8192;

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

function isTchar(c: string | undefined): boolean {
  return c !== undefined && TCHAR.test(c);
}

/**
 * Parses a `WWW-Authenticate` header value (several headers joined with `, `, as `Headers.get` does).
 *
 * @example Bearer with quoted parameters
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseWwwAuthenticate } from "./challenge.ts";
 * const [c] = parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="reg",scope="a:b,c"');
 * assert.equal(c.scheme, "bearer");
 * assert.equal(c.params.get("realm"), "https://auth.example/token");
 * assert.equal(c.params.get("scope"), "a:b,c");
 * ```
 *
 * @example Two challenges and an error
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChallengeSyntaxError, parseWwwAuthenticate } from "./challenge.ts";
 * const list = parseWwwAuthenticate('Negotiate abc==, Basic realm="x"');
 * assert.deepEqual(list.map((c) => [c.scheme, c.token68]), [["negotiate", "abc=="], ["basic", null]]);
 * assert.throws(() => parseWwwAuthenticate('Bearer realm="open'), ChallengeSyntaxError);
 * ```
 *
 * @param header The header value.
 * @returns The challenges, in order (at least one).
 * @throws {ChallengeSyntaxError} For an empty, over-long or malformed header.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  if (header.length > MAX_CHALLENGE_CHARS) {
    throw new ChallengeSyntaxError(`longer than ${MAX_CHALLENGE_CHARS} characters`);
  }
  let pos = 0;
  const fail = (what: string): never => {
    throw new ChallengeSyntaxError(`${what} at offset ${pos}`);
  };
  const skipSpaces = () => {
    while (header[pos] === " " || header[pos] === "\t") pos++;
  };
  const skipListSeparators = () => {
    while (header[pos] === " " || header[pos] === "\t" || header[pos] === ",") pos++;
  };
  const readToken = (): string => {
    const start = pos;
    while (isTchar(header[pos])) pos++;
    if (pos === start) fail("expected a token");
    return header.slice(start, pos);
  };
  const readQuoted = (): string => {
    pos++; // the opening quote
    let out = "";
    for (;;) {
      if (pos >= header.length) fail("unterminated quoted string");
      const c = header[pos];
      const code = c.charCodeAt(0);
      if (c === '"') {
        pos++;
        return out;
      }
      if (c === "\\") {
        const next = header[pos + 1];
        if (next === undefined) fail("unterminated quoted string");
        const n = next.charCodeAt(0);
        if ((n < 0x20 && n !== 0x09) || n === 0x7f) fail("control character in quoted string");
        out += next;
        pos += 2;
        continue;
      }
      if ((code < 0x20 && code !== 0x09) || code === 0x7f) fail("control character in quoted string");
      out += c;
      pos++;
    }
  };
  /** Whether a parameter (`token BWS "="` followed by a value, not by more `=`) starts at `pos`. */
  const paramAhead = (): boolean => {
    let p = pos;
    while (isTchar(header[p])) p++;
    if (p === pos) return false;
    while (header[p] === " " || header[p] === "\t") p++;
    if (header[p] !== "=") return false;
    p++;
    while (header[p] === " " || header[p] === "\t") p++;
    return header[p] === '"' || isTchar(header[p]) && header[p] !== "=";
  };

  const challenges: AuthChallenge[] = [];
  skipListSeparators();
  if (pos >= header.length) fail("no challenge");
  while (pos < header.length) {
    const scheme = readToken().toLowerCase();
    const params = new Map<string, string>();
    let token68: string | null = null;
    const afterScheme = pos;
    skipSpaces();
    const spaced = pos > afterScheme;
    if (pos < header.length && header[pos] !== ",") {
      if (!spaced) fail("expected a space after the auth scheme");
      if (paramAhead()) {
        // auth-param list: name BWS "=" BWS (token / quoted-string), comma-separated.
        for (;;) {
          const name = readToken().toLowerCase();
          skipSpaces();
          pos++; // "=" (checked by paramAhead)
          skipSpaces();
          const value = header[pos] === '"' ? readQuoted() : readToken();
          if (params.has(name)) fail(`repeated parameter "${name}"`);
          params.set(name, value);
          skipSpaces();
          if (pos >= header.length) break;
          if (header[pos] !== ",") fail("expected a comma");
          skipListSeparators();
          if (pos >= header.length || !paramAhead()) break; // the next challenge (or the end)
        }
      } else {
        const start = pos;
        while (TOKEN68_CHAR.test(header[pos] ?? "")) pos++;
        if (pos === start) fail("expected a parameter or a token68");
        while (header[pos] === "=") pos++;
        token68 = header.slice(start, pos);
        skipSpaces();
        if (pos < header.length && header[pos] !== ",") fail("expected a comma");
        skipListSeparators();
      }
    } else {
      skipListSeparators();
    }
    challenges.push({ scheme, params, token68 });
  }
  return challenges;
}
