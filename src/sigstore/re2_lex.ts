/**
 * The pieces of Go's `regexp/syntax` parser that read one construct at a position of the pattern and say
 * where it ends: counted repetitions `{n,m}`, escapes, Perl classes `\d`, bracketed classes `[...]`. Pure
 * functions over the pattern's code points, with Go's error texts; the parser (`re2_parse.ts`) keeps the
 * stack and the flags.
 *
 * @module
 */

import {
  type ClassPiece,
  isAsciiAlnum,
  isDigit,
  isOctal,
  MAX_RUNE,
  type Node,
  PERL_CLASSES,
  POSIX_CLASSES,
  type Ranges,
  Re2SyntaxError,
  unhex,
} from "./re2_syntax.ts";

/** What a reader found, and the position just after it. */
export interface Read<T> {
  /** The construct. */
  readonly value: T;
  /** The position after it. */
  readonly end: number;
}

/**
 * The pattern text of code points [from, to).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sliceText } from "./re2_lex.ts";
 * assert.equal(sliceText([0x61, 0x62, 0x63], 1, 3), "bc");
 * ```
 *
 * @param src The pattern's code points.
 * @param from First code point.
 * @param to One past the last.
 * @returns The text.
 */
export function sliceText(src: readonly number[], from: number, to: number): string {
  return String.fromCodePoint(...src.slice(from, to));
}

/**
 * `{n}`, `{n,}`, `{n,m}` at `pos` (which holds `{`); null when it is not one (then `{` is a literal). A
 * count above 10^8 reads as -1 (Go's "too big", reported by the caller as an invalid repeat count).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRepeatBraces } from "./re2_lex.ts";
 * const src = [..."a{2,5}"].map((c) => c.codePointAt(0)!);
 * assert.deepEqual(readRepeatBraces(src, 1), { value: [2, 5], end: 6 });
 * assert.equal(readRepeatBraces(src.slice(0, 4), 1), null);
 * ```
 *
 * @param src The pattern's code points.
 * @param pos The position of `{`.
 * @returns `[min, max]` (max -1: unbounded) and the end, or null.
 */
export function readRepeatBraces(src: readonly number[], pos: number): Read<[number, number]> | null {
  let i = pos + 1;
  const int = (): number | null => {
    if (!isDigit(src[i])) return null;
    if (src[i] === 0x30 && isDigit(src[i + 1])) return null; // no leading zeros
    let n = 0;
    let big = false;
    while (isDigit(src[i])) {
      if (n >= 1e8) big = true;
      else n = n * 10 + src[i] - 0x30;
      i++;
    }
    return big ? -1 : n;
  };
  let min = int();
  if (min === null || i >= src.length) return null;
  let max: number;
  if (src[i] !== 0x2c) max = min;
  else {
    i++;
    if (i >= src.length) return null;
    if (src[i] === 0x7d) max = -1;
    else {
      const m = int();
      if (m === null) return null;
      max = m;
      if (m < 0) min = -1;
    }
  }
  if (src[i] !== 0x7d) return null;
  return { value: [min, max], end: i + 1 };
}

/**
 * The error for `\p` / `\P` at `start`: Unicode classes are not supported by this matcher (Go's are), so the
 * pattern is refused naming the class.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unicodeClassError } from "./re2_lex.ts";
 * const src = [..."\\p{Greek}x"].map((c) => c.codePointAt(0)!);
 * assert.match(unicodeClassError(src, 0).message, /\\p\{Greek\}/);
 * ```
 *
 * @param src The pattern's code points.
 * @param start The position of the backslash.
 * @returns The error to throw.
 */
export function unicodeClassError(src: readonly number[], start: number): Re2SyntaxError {
  let end = start + 2;
  if (src[end] === 0x7b) {
    while (end < src.length && src[end] !== 0x7d) end++;
    end++;
  } else end++;
  return new Re2SyntaxError(
    "Unicode character classes are not supported here",
    sliceText(src, start, Math.min(end, src.length)),
  );
}

/**
 * `\d \D \s \S \w \W` at `start` (the backslash), or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPerlClass } from "./re2_lex.ts";
 * const src = [..."\\W"].map((c) => c.codePointAt(0)!);
 * assert.equal(readPerlClass(src, 0, false)?.value.negate, true);
 * assert.equal(readPerlClass([0x5c, 0x6e], 0, false), null);
 * ```
 *
 * @param src The pattern's code points.
 * @param start The position of the backslash.
 * @param fold Whether case folding is on.
 * @returns The class piece and the end, or null.
 */
export function readPerlClass(src: readonly number[], start: number, fold: boolean): Read<ClassPiece> | null {
  const c = src[start + 1];
  const name = c === undefined ? "" : String.fromCodePoint(c);
  if (!["d", "D", "s", "S", "w", "W"].includes(name)) return null;
  const lower = name.toLowerCase();
  return { value: { ranges: PERL_CLASSES[lower], fold, negate: name !== lower }, end: start + 2 };
}

/** One-letter escapes and the characters they stand for (`\a \f \n \r \t \v`). */
const SIMPLE_ESCAPES: ReadonlyMap<number, number> = new Map([
  [0x61, 0x07],
  [0x66, 0x0c],
  [0x6e, 0x0a],
  [0x72, 0x0d],
  [0x74, 0x09],
  [0x76, 0x0b],
]);

/**
 * Go's `parseEscape`: one escaped character at `start` (the backslash).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readEscape } from "./re2_lex.ts";
 * const src = [..."\\x{41}"].map((c) => c.codePointAt(0)!);
 * assert.deepEqual(readEscape(src, 0), { value: 0x41, end: 6 });
 * assert.throws(() => readEscape([0x5c, 0x71], 0), /invalid escape sequence/);
 * ```
 *
 * @param src The pattern's code points.
 * @param start The position of the backslash.
 * @returns The code point and the end.
 * @throws {Re2SyntaxError} A trailing backslash or an invalid escape.
 */
export function readEscape(src: readonly number[], start: number): Read<number> {
  let i = start + 1;
  if (i >= src.length) throw new Re2SyntaxError("trailing backslash at end of expression", "");
  const c = src[i++];
  const done = (r: number): Read<number> => ({ value: r, end: i });
  const bad = () => new Re2SyntaxError("invalid escape sequence", sliceText(src, start, i));
  if (c < 0x80 && !isAsciiAlnum(c)) return done(c);
  if ((c >= 0x31 && c <= 0x37 && isOctal(src[i])) || c === 0x30) {
    let r = c - 0x30;
    for (let k = 1; k < 3 && isOctal(src[i]); k++) r = r * 8 + src[i++] - 0x30;
    return done(r);
  }
  const simple = SIMPLE_ESCAPES.get(c);
  if (simple !== undefined) return done(simple);
  if (c !== 0x78) throw bad(); // only \x is left
  if (i >= src.length) throw bad();
  const d = src[i++];
  if (d === 0x7b) {
    let r = 0;
    let n = 0;
    for (;;) {
      if (i >= src.length) throw bad();
      const h = src[i++];
      if (h === 0x7d) break;
      const v = unhex(h);
      if (v < 0) throw bad();
      r = r * 16 + v;
      if (r > MAX_RUNE) throw bad();
      n++;
    }
    if (n === 0) throw bad();
    return done(r);
  }
  const x = unhex(d);
  if (i >= src.length) throw bad();
  const y = unhex(src[i++]);
  if (x < 0 || y < 0) throw bad();
  return done(x * 16 + y);
}

/** `[:name:]` / `[:^name:]` at `i` inside a class, or null when there is no closing `:]`. */
function readPosixClass(src: readonly number[], i: number, fold: boolean): Read<ClassPiece> | null {
  let end = i + 2;
  while (end + 1 < src.length && !(src[end] === 0x3a && src[end + 1] === 0x5d)) end++;
  if (end + 1 >= src.length) return null;
  let name = sliceText(src, i + 2, end);
  const negate = name.startsWith("^");
  if (negate) name = name.slice(1);
  const ranges = Object.hasOwn(POSIX_CLASSES, name) ? POSIX_CLASSES[name] : undefined;
  if (ranges === undefined) {
    throw new Re2SyntaxError("invalid character class range", sliceText(src, i, end + 2));
  }
  return { value: { ranges, fold, negate }, end: end + 2 };
}

/**
 * Go's `parseClass`: a bracketed class `[...]` at `start`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readClass } from "./re2_lex.ts";
 * const src = [..."[^a-c\\d]x"].map((c) => c.codePointAt(0)!);
 * const { value, end } = readClass(src, 0, false);
 * assert.equal(end, 8);
 * assert.equal(value.t === "class" && value.negate, true);
 * assert.throws(() => readClass(src.slice(0, 4), 0, false), /missing closing \]/);
 * ```
 *
 * @param src The pattern's code points.
 * @param start The position of `[`.
 * @param fold Whether case folding is on.
 * @returns The class node and the end.
 * @throws {Re2SyntaxError} An unclosed class, a bad range, an unknown POSIX class or a bad escape.
 */
export function readClass(src: readonly number[], start: number, fold: boolean): Read<Node> {
  let i = start + 1;
  let negate = false;
  if (src[i] === 0x5e) {
    negate = true;
    i++;
  }
  const pieces: ClassPiece[] = [];
  const plain: Ranges = [];
  let first = true;
  const missing = () => new Re2SyntaxError("missing closing ]", sliceText(src, start, src.length));
  const classChar = (): number => {
    if (i >= src.length) throw missing();
    if (src[i] !== 0x5c) return src[i++];
    const escape = readEscape(src, i);
    i = escape.end;
    return escape.value;
  };
  while (i >= src.length || src[i] !== 0x5d || first) {
    if (i >= src.length) throw missing();
    first = false;
    const posix = src[i] === 0x5b && src[i + 1] === 0x3a ? readPosixClass(src, i, fold) : null;
    const perl = posix === null && src[i] === 0x5c ? readPerlClass(src, i, fold) : null;
    if (posix !== null || perl !== null) {
      const read = (posix ?? perl)!;
      pieces.push(read.value);
      i = read.end;
      continue;
    }
    if (src[i] === 0x5c && (src[i + 1] === 0x70 || src[i + 1] === 0x50)) throw unicodeClassError(src, i);
    const rangeStart = i;
    const lo = classChar();
    let hi = lo;
    if (i + 1 < src.length && src[i] === 0x2d && src[i + 1] !== 0x5d) {
      i++;
      hi = classChar();
      if (hi < lo) throw new Re2SyntaxError("invalid character class range", sliceText(src, rangeStart, i));
    }
    plain.push(lo, hi);
  }
  if (plain.length > 0) pieces.push({ ranges: plain, fold, negate: false });
  return { value: { t: "class", pieces, negate }, end: i + 1 };
}
