/**
 * The vocabulary of the Go-compatible regular expressions (`re2.ts`): the syntax error, limits, flags, the
 * parse tree, the Perl and POSIX classes and character helpers.
 *
 * @module
 */

/** A pattern Go's `regexp.Compile` (or this module) refuses; the message reads like Go's. */
export class Re2SyntaxError extends Error {
  /**
   * @param code What is wrong, in Go's words (`missing closing )`).
   * @param expr The part of the pattern at fault.
   */
  constructor(readonly code: string, readonly expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
    this.name = "Re2SyntaxError";
  }
}

/** The deepest nesting of groups and repetitions accepted (Go's limit). */
export const MAX_HEIGHT = 1000;
/** The most NFA states a pattern may compile to (Go refuses very large programs too). */
export const MAX_STATES = 100_000;
/** The largest Unicode code point. */
export const MAX_RUNE = 0x10ffff;

/** Flag `(?i)`: case-insensitive. */
export const FOLD = 1; // (?i)
/** Flag `(?m)`: `^` and `$` match at line boundaries. */
export const MULTILINE = 2; // (?m): ^ and $ match at line boundaries
/** Flag `(?s)`: `.` matches `\n`. */
export const DOT_NL = 4; // (?s)
/** Flag `(?U)`: repetitions are lazy by default. */
export const NON_GREEDY = 8; // (?U)

/** A class as code point ranges `[lo0, hi0, lo1, hi1, …]`. */
export type Ranges = number[]; // [lo0, hi0, lo1, hi1, …]

/** One part of a character class: ranges, folded (under `(?i)`) and then negated as Go's `appendGroup`. */
export interface ClassPiece {
  readonly ranges: Ranges;
  readonly fold: boolean;
  readonly negate: boolean;
}

/** A node of the parse tree. */
export type Node =
  | { readonly t: "class"; readonly pieces: readonly ClassPiece[]; readonly negate: boolean }
  | { readonly t: "empty" }
  | {
    readonly t: "assert";
    readonly kind: "beginLine" | "endLine" | "beginText" | "endText" | "wordB" | "noWordB";
  }
  | { readonly t: "concat"; readonly subs: readonly Node[] }
  | { readonly t: "alt"; readonly subs: readonly Node[] }
  | { readonly t: "repeat"; readonly sub: Node; readonly min: number; readonly max: number }; // max -1: ∞

/** `\d \s \w` as ranges. */
export const PERL_CLASSES: Record<string, Ranges> = {
  d: [0x30, 0x39],
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
  w: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
};

/** `[:alpha:]`-style classes as ranges. */
export const POSIX_CLASSES: Record<string, Ranges> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: [0x30, 0x39],
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

/** Whether `c` is an ASCII letter or digit. */
export const isAsciiAlnum = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** Whether `c` is an octal digit. */
export const isOctal = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x37;
/** Whether `c` is a decimal digit. */
export const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
/** The value of hex digit `c`, or -1. */
export function unhex(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** The code points of `s`; a lone surrogate is `-1` (Go would see invalid UTF-8). */
export function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out.push(c >= 0xd800 && c <= 0xdfff ? -1 : c);
  }
  return out;
}
