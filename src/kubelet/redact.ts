/**
 * Keeps the kubelet client's secrets (the bearer token, the client key) out of error messages built from
 * what a kubelet sent back. A secret is found in a body in any mixture of raw bytes, percent-encoding
 * (`%2F`/`%2f`, also `+` for a space) and JSON string escapes (`\"`, `\/`, `\u0041`, surrogate pairs), and
 * the search runs on the whole body before it is cut, so a secret that straddles the cut is removed whole:
 * neither a prefix of it before the cut nor its tail after it survives.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** What replaces every occurrence of a secret. */
export const REDACTED = "[redacted]";

/** The longest a one-byte character gets when escaped: `\u00XX` (6 bytes) beats `%XX` (3). */
const MAX_EXPANSION = 6;

const encoder = new TextEncoder();
const lossyDecoder = new TextDecoder("utf-8");

/**
 * How many bytes past a cut a caller must have read so that every secret occurrence that starts before the
 * cut is complete in what was read: six times the longest secret in UTF-8 (its most expanded form).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactionMargin } from "./redact.ts";
 * assert.equal(redactionMargin(["abc", "é"]), 18);
 * assert.equal(redactionMargin([]), 0);
 * ```
 *
 * @param secrets The secrets.
 * @returns The margin in bytes.
 */
export function redactionMargin(secrets: readonly string[]): number {
  let longest = 0;
  for (const secret of secrets) longest = Math.max(longest, encoder.encode(secret).length);
  return MAX_EXPANSION * longest;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return -1;
}

function hex4(body: Uint8Array, at: number): number {
  if (at + 4 > body.length) return -1;
  let value = 0;
  for (let i = at; i < at + 4; i++) {
    const digit = hexValue(body[i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

const SHORT_ESCAPES: Record<number, number> = {
  0x22: 0x22, // \"
  0x5c: 0x5c, // \\
  0x2f: 0x2f, // \/
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
};

/** `body` with some escapes decoded; each decoded byte remembers the span of `body` it came from. */
interface DecodedView {
  readonly bytes: Uint8Array;
  readonly from: Int32Array;
  readonly to: Int32Array;
}

/** Which escapes a view decodes. */
interface Decoding {
  /** `%XX`. */
  readonly percent: boolean;
  /** `+` as a space (form encoding). */
  readonly plus: boolean;
  /** JSON string escapes. */
  readonly json: boolean;
}

/**
 * The decodings searched besides the raw bytes. Each escape kind alone (a secret may itself contain what
 * looks like the other kind, e.g. a literal `%41` inside a JSON string), and both mixed.
 */
function decodings(plus: boolean): Decoding[] {
  const list: Decoding[] = [
    { percent: true, plus: false, json: false },
    { percent: false, plus: false, json: true },
    { percent: true, plus: false, json: true },
  ];
  if (plus) list.push({ percent: true, plus: true, json: false }, { percent: true, plus: true, json: true });
  return list;
}

function decodedView(body: Uint8Array, decoding: Decoding): DecodedView {
  const n = body.length;
  const bytes = new Uint8Array(n);
  const from = new Int32Array(n);
  const to = new Int32Array(n);
  let k = 0;
  const emit = (value: number, start: number, end: number) => {
    bytes[k] = value;
    from[k] = start;
    to[k] = end;
    k++;
  };
  let i = 0;
  while (i < n) {
    const b = body[i];
    if (decoding.percent && b === 0x25 && i + 2 < n) {
      const hi = hexValue(body[i + 1]);
      const lo = hexValue(body[i + 2]);
      if (hi >= 0 && lo >= 0) {
        emit(hi * 16 + lo, i, i + 3);
        i += 3;
        continue;
      }
    }
    if (decoding.json && b === 0x5c && i + 1 < n) {
      const c = body[i + 1];
      const short = SHORT_ESCAPES[c];
      if (short !== undefined) {
        emit(short, i, i + 2);
        i += 2;
        continue;
      }
      if (c === 0x75) {
        const unit = hex4(body, i + 2);
        if (unit >= 0) {
          let text = String.fromCharCode(unit);
          let end = i + 6;
          if (unit >= 0xd800 && unit <= 0xdbff && body[end] === 0x5c && body[end + 1] === 0x75) {
            const low = hex4(body, end + 2);
            if (low >= 0xdc00 && low <= 0xdfff) {
              text += String.fromCharCode(low);
              end += 6;
            }
          }
          for (const byte of encoder.encode(text)) emit(byte, i, end);
          i = end;
          continue;
        }
      }
    }
    emit(decoding.plus && b === 0x2b ? 0x20 : b, i, i + 1);
    i++;
  }
  return { bytes: bytes.subarray(0, k), from: from.subarray(0, k), to: to.subarray(0, k) };
}

/** Every match of `needle` in `haystack`, overlapping ones included, as [start, end) pairs. */
function* matches(haystack: Uint8Array, needle: Uint8Array): Generator<[number, number]> {
  const hay = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.length);
  const pin = Buffer.from(needle.buffer, needle.byteOffset, needle.length);
  for (let at = hay.indexOf(pin); at >= 0; at = hay.indexOf(pin, at + 1)) yield [at, at + needle.length];
}

/** The shortest piece of a secret that is removed wherever it appears (a shorter one tells nothing). */
export const FRAGMENT = 8;

/** Every FRAGMENT-byte piece of `needle`, as latin1 strings (one character per byte). */
function fragmentsOf(needle: Uint8Array): Set<string> {
  const pieces = new Set<string>();
  if (needle.length < FRAGMENT) return pieces;
  const text = Buffer.from(needle.buffer, needle.byteOffset, needle.length).toString("latin1");
  for (let i = 0; i + FRAGMENT <= text.length; i++) pieces.add(text.slice(i, i + FRAGMENT));
  return pieces;
}

/** Every window of `haystack` that is one of `fragments`, as [start, end) pairs. */
function* fragmentMatches(haystack: Uint8Array, fragments: Set<string>): Generator<[number, number]> {
  const text = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.length).toString("latin1");
  for (let i = 0; i + FRAGMENT <= text.length; i++) {
    if (fragments.has(text.slice(i, i + FRAGMENT))) yield [i, i + FRAGMENT];
  }
}

/**
 * The first `limit` bytes of `body` as text (lossy UTF-8), with every occurrence of every secret that
 * starts before `limit` replaced by {@linkcode REDACTED} as a whole, however far past `limit` it runs, in
 * raw, percent-encoded or JSON-escaped form (or a mixture), and likewise every run of {@linkcode FRAGMENT}
 * or more bytes of a secret (a truncated echo, or one broken up by a differently encoded character). Occurrences are searched in all of `body`, so a
 * caller that cuts a longer body must pass at least `limit + redactionMargin(secrets)` bytes of it (what it
 * has, when the body is shorter): then no part of a secret that the cut splits can remain.
 *
 * @example A token echoed across the cut, percent-encoded
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactedPrefix } from "./redact.ts";
 * const token = "s3cr3t/t0ken+value";
 * const body = new TextEncoder().encode(`${"x".repeat(6)}${encodeURIComponent(token)} tail`);
 * assert.equal(redactedPrefix(body, [token], 10), "xxxxxx[redacted]");
 * ```
 *
 * @param body The bytes received (at least `limit + redactionMargin(secrets)` of them when there are that many).
 * @param secrets The secrets to remove; empty strings are ignored.
 * @param limit How many bytes of `body` the result may show.
 * @returns The redacted, cut text.
 */
export function redactedPrefix(body: Uint8Array, secrets: readonly string[], limit: number): string {
  const n = body.length;
  const needles = secrets.filter((s) => s !== "").map((s) => encoder.encode(s));
  const coverage = new Int32Array(n + 1); // +1 at each occurrence's start, -1 at its end
  if (needles.length > 0) {
    const cover = (start: number, end: number) => {
      coverage[start]++;
      coverage[end]--;
    };
    const views = decodings(secrets.some((s) => s.includes(" "))).map((d) => decodedView(body, d));
    for (const needle of needles) {
      for (const [start, end] of matches(body, needle)) cover(start, end);
      for (const view of views) {
        for (const [start, end] of matches(view.bytes, needle)) cover(view.from[start], view.to[end - 1]);
      }
      // Any run of FRAGMENT bytes of a secret, too: an echo the sender cut short, or a secret broken up by
      // one differently encoded character, must not leave most of it readable.
      const fragments = fragmentsOf(needle);
      if (fragments.size === 0) continue;
      for (const [start, end] of fragmentMatches(body, fragments)) cover(start, end);
      for (const view of views) {
        for (const [start, end] of fragmentMatches(view.bytes, fragments)) {
          cover(view.from[start], view.to[end - 1]);
        }
      }
    }
  }

  const pieces: string[] = [];
  const stop = Math.min(limit, n);
  let depth = 0;
  let runStart = 0;
  let inSecret = false;
  for (let i = 0; i < stop; i++) {
    depth += coverage[i];
    const covered = depth > 0;
    if (covered === inSecret) continue;
    if (covered) {
      if (i > runStart) pieces.push(lossyDecoder.decode(body.subarray(runStart, i)));
      pieces.push(REDACTED);
    } else {
      runStart = i;
    }
    inSecret = covered;
  }
  if (!inSecret && stop > runStart) pieces.push(lossyDecoder.decode(body.subarray(runStart, stop)));
  return pieces.join("");
}

/**
 * `text` with every occurrence of every secret (raw, percent-encoded or JSON-escaped) replaced by
 * {@linkcode REDACTED}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactSecrets } from "./redact.ts";
 * assert.equal(redactSecrets('got "to\\/ken" and to/ken', ["to/ken"]), 'got "[redacted]" and [redacted]');
 * ```
 *
 * @param text Any text.
 * @param secrets The secrets to remove; empty strings are ignored.
 * @returns The text without them.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  if (!secrets.some((s) => s !== "")) return text;
  const bytes = encoder.encode(text);
  return redactedPrefix(bytes, secrets, bytes.length);
}
