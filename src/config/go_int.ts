/**
 * Go `strconv.ParseInt(s, 0, 64)`: the rule HCL v1 uses for quoted integers (`"0x10"`, `"0o17"`,
 * `"0b101"`, `"017"`, `"1_000"`), with Go's error texts.
 *
 * @module
 */

/** The outcome of {@linkcode parseGoInt}. */
export type GoIntResult =
  | { readonly ok: true; readonly value: bigint }
  | { readonly ok: false; readonly error: string };

const MAX_I64 = (1n << 63n) - 1n;
const MAX_U64 = (1n << 64n) - 1n;

/** Go's `underscoreOK`: underscores only between digits (or after a base prefix). */
function underscoreOK(text: string): boolean {
  let s = text;
  let saw = "^";
  let i = 0;
  if (s.length >= 1 && (s[0] === "-" || s[0] === "+")) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && "box".includes(s[1].toLowerCase())) {
    i = 2;
    saw = "0";
    hex = s[1].toLowerCase() === "x";
  }
  for (; i < s.length; i++) {
    const c = s[i];
    const lc = c.toLowerCase();
    if ((c >= "0" && c <= "9") || (hex && lc >= "a" && lc <= "f")) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

/**
 * Parses `text` exactly like Go's `strconv.ParseInt(text, 0, 64)`.
 *
 * @param text The integer text (no surrounding spaces allowed, as in Go).
 * @returns The value, or Go's error text such as `strconv.ParseInt: parsing "abc": invalid syntax`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGoInt } from "./go_int.ts";
 * assert.deepEqual(parseGoInt("0x10"), { ok: true, value: 16n });
 * ```
 */
export function parseGoInt(text: string): GoIntResult {
  const syntax = (): GoIntResult => ({
    ok: false,
    error: `strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`,
  });
  const range = (): GoIntResult => ({
    ok: false,
    error: `strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`,
  });
  if (text === "") return syntax();
  let s = text;
  let neg = false;
  if (s[0] === "+") s = s.slice(1);
  else if (s[0] === "-") {
    neg = true;
    s = s.slice(1);
  }
  if (s === "") return syntax();
  let base = 10n;
  if (s[0] === "0") {
    const p = s.length >= 3 ? s[1].toLowerCase() : "";
    if (p === "b") [base, s] = [2n, s.slice(2)];
    else if (p === "o") [base, s] = [8n, s.slice(2)];
    else if (p === "x") [base, s] = [16n, s.slice(2)];
    else [base, s] = [8n, s.slice(1)];
  }
  let n = 0n;
  let underscores = false;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const lower = code | 0x20; // Go's lower(c) for ASCII letters
    let d: bigint;
    if (code === 0x5f /* _ */) {
      underscores = true;
      continue;
    } else if (code >= 0x30 && code <= 0x39) d = BigInt(code - 0x30);
    else if (lower >= 0x61 && lower <= 0x7a) d = BigInt(lower - 0x61 + 10);
    else return syntax();
    if (d >= base) return syntax();
    n = n * base + d;
    if (n > MAX_U64) return range(); // Go stops at the first overflow
  }
  if (underscores && !underscoreOK(text)) return syntax();
  if (neg ? n > MAX_I64 + 1n : n > MAX_I64) return range();
  return { ok: true, value: neg ? -n : n };
}
