/**
 * Go `time.ParseDuration`, ported rule for rule (grammar, units, overflow checks and the exact error
 * texts), so duration settings behave and fail as they do in SPIRE.
 *
 * @module
 */

/** Nanoseconds per unit, as in Go's `time.unitMap` (both micro signs are accepted). */
const UNITS: ReadonlyMap<string, bigint> = new Map([
  ["ns", 1n],
  ["us", 1_000n],
  ["\u00b5s", 1_000n], // U+00B5 MICRO SIGN
  ["\u03bcs", 1_000n], // U+03BC GREEK SMALL LETTER MU
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

const MAX_U63 = 1n << 63n;

/** The outcome of {@linkcode parseGoDuration}: nanoseconds, or Go's error text. */
export type DurationResult =
  | { readonly ok: true; readonly nanoseconds: bigint }
  | { readonly ok: false; readonly error: string };

/**
 * Quotes `s` the way Go's `time` package does in its errors: double quotes, `"` and `\` escaped, and
 * every byte of a control or non-ASCII character written as `\xNN` (UTF-8).
 *
 * @param s The text to quote.
 * @returns The quoted text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goTimeQuote } from "./duration.ts";
 * assert.equal(goTimeQuote('a"b'), '"a\\"b"');
 * ```
 */
export function goTimeQuote(s: string): string {
  const enc = new TextEncoder();
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x80 || cp < 0x20) {
      for (const b of enc.encode(ch)) out += `\\x${b.toString(16).padStart(2, "0")}`;
    } else {
      if (ch === '"' || ch === "\\") out += "\\";
      out += ch;
    }
  }
  return out + '"';
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

/**
 * Parses a duration string with Go's `time.ParseDuration` rules: an optional sign, then one or more
 * `<digits>[.<digits>]<unit>` groups with units `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`; the bare
 * string `0` is zero. Error texts are Go's, e.g. `time: invalid duration "blah"`,
 * `time: missing unit in duration "5"`, `time: unknown unit "d" in duration "1d"`.
 *
 * @param text The duration text.
 * @returns The duration in nanoseconds (may be negative), or the error text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGoDuration } from "./duration.ts";
 * assert.deepEqual(parseGoDuration("1m30s"), { ok: true, nanoseconds: 90_000_000_000n });
 * ```
 */
export function parseGoDuration(text: string): DurationResult {
  const orig = text;
  const invalid = (): DurationResult => ({ ok: false, error: `time: invalid duration ${goTimeQuote(orig)}` });
  let s = text;
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return { ok: true, nanoseconds: 0n };
  if (s === "") return invalid();
  let d = 0n;
  while (s !== "") {
    if (!(s[0] === "." || isDigit(s[0]))) return invalid();
    // leadingInt: [0-9]*
    let v = 0n;
    let i = 0;
    for (; i < s.length && isDigit(s[i]); i++) {
      if (v > MAX_U63 / 10n) return invalid();
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > MAX_U63) return invalid();
    }
    const pre = i > 0;
    s = s.slice(i);
    // leadingFraction: (\.[0-9]*)?
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s !== "" && s[0] === ".") {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      for (; j < s.length && isDigit(s[j]); j++) {
        if (overflow) continue;
        if (f > (MAX_U63 - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
        if (y > MAX_U63) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) return invalid();
    // unit: everything up to the next digit or '.'
    let u = 0;
    while (u < s.length && !(s[u] === "." || isDigit(s[u]))) u++;
    if (u === 0) return { ok: false, error: `time: missing unit in duration ${goTimeQuote(orig)}` };
    const unitText = s.slice(0, u);
    s = s.slice(u);
    const unit = UNITS.get(unitText);
    if (unit === undefined) {
      return {
        ok: false,
        error: `time: unknown unit ${goTimeQuote(unitText)} in duration ${goTimeQuote(orig)}`,
      };
    }
    if (v > MAX_U63 / unit) return invalid();
    v *= unit;
    if (f > 0n) {
      // Go: v += uint64(float64(f) * (float64(unit) / scale))
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > MAX_U63) return invalid();
    }
    d += v;
    if (d > MAX_U63) return invalid();
  }
  if (neg) return { ok: true, nanoseconds: -d };
  if (d > MAX_U63 - 1n) return invalid();
  return { ok: true, nanoseconds: d };
}
