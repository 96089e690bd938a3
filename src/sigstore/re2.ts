/**
 * Go's `regexp` (RE2 syntax, Perl flags, as `regexp.Compile` parses it) for the identity patterns of the
 * `sigstore { allowed_identities }` block, with a linear-time matcher: a pattern is parsed by Go's rules
 * (every construct Go refuses is refused here, with Go's error text), compiled to a Thompson NFA and run
 * as a Pike VM, so `MatchString` (an unanchored search) costs O(pattern × input) whatever the pattern: no
 * backtracking, so no catastrophic pattern on an attacker-chosen certificate subject.
 *
 * Supported, as in Go: literals, `.`, `[...]` classes (ranges, negation, `[:alpha:]`-style POSIX classes,
 * `\d\s\w` and their negations), the escapes `\a\f\t\n\r\v`, octal `\123`, `\x7f`, `\x{10FFFF}`, `\Q…\E`,
 * escaped punctuation; `^ $ \A \z \b \B`; groups `( )`, `(?: )`, `(?P<name> )`, `(?<name> )`; flags
 * `(?imsU)`, `(?i-s:…)`; repetition `* + ? {n} {n,} {n,m}` (greedy or lazy; `{}` counts up to 1000).
 * Refused: Unicode classes (`\p{…}`, `\P…`: refused here, Go would accept them) and `\C`; and, as Go
 * refuses them, backreferences (`\1`), lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`), atomic groups and
 * possessive or stacked repetition. Case folding (`(?i)`) is Unicode simple case folding, as Go's.
 *
 * @module
 */

import {
  type ClassPiece,
  codePoints,
  isAsciiAlnum,
  MAX_STATES,
  type Node,
  type Ranges,
  Re2SyntaxError,
} from "./re2_syntax.ts";
import { Parser } from "./re2_parse.ts";

export { Re2SyntaxError } from "./re2_syntax.ts";

// ---- NFA ------------------------------------------------------------------------------------------------

/** Tells whether one code point is in a class. */
type CharTest = (c: number) => boolean;

type State =
  | { op: "char"; test: CharTest; out: number }
  | { op: "split"; out: number; out1: number }
  | {
    op: "assert";
    kind: "beginLine" | "endLine" | "beginText" | "endText" | "wordB" | "noWordB";
    out: number;
  }
  | { op: "match" };

function inRanges(ranges: Ranges, c: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) if (c >= ranges[i] && c <= ranges[i + 1]) return true;
  return false;
}

/** The test of one class piece; a folded one asks JS, whose `iu` classes use simple case folding as Go. */
function pieceTest(piece: ClassPiece): CharTest {
  const { ranges, negate } = piece;
  if (!piece.fold) return (c) => inRanges(ranges, c) !== negate;
  const hex = (c: number) => `\\u{${c.toString(16)}}`;
  let body = "";
  for (let i = 0; i < ranges.length; i += 2) body += `${hex(ranges[i])}-${hex(ranges[i + 1])}`;
  const re = new RegExp(`^[${body}]$`, "iu");
  return (c) => (inRanges(ranges, c) || (c >= 0 && re.test(String.fromCodePoint(c)))) !== negate;
}

class Compiler {
  readonly states: State[] = [];

  #add(s: State): number {
    if (this.states.length >= MAX_STATES) throw new Re2SyntaxError("expression too large", "");
    this.states.push(s);
    return this.states.length - 1;
  }

  /** Compiles `node` so that it continues at state `next`; returns its entry state. */
  compile(node: Node, next: number): number {
    switch (node.t) {
      case "empty":
        return next;
      case "class": {
        const tests = node.pieces.map(pieceTest);
        const neg = node.negate;
        const test: CharTest = tests.length === 1 && !neg ? tests[0] : (c) => tests.some((t) => t(c)) !== neg;
        return this.#add({ op: "char", test, out: next });
      }
      case "assert":
        return this.#add({ op: "assert", kind: node.kind, out: next });
      case "concat": {
        let entry = next;
        for (let i = node.subs.length - 1; i >= 0; i--) entry = this.compile(node.subs[i], entry);
        return entry;
      }
      case "alt": {
        const entries = node.subs.map((s) => this.compile(s, next));
        let entry = entries.at(-1)!;
        for (let i = entries.length - 2; i >= 0; i--) {
          entry = this.#add({ op: "split", out: entries[i], out1: entry });
        }
        return entry;
      }
      case "repeat": {
        const { sub, min, max } = node;
        let entry = next;
        if (max < 0) {
          // sub* : a loop; then min copies before it.
          const loop = this.#add({ op: "split", out: -1, out1: next });
          const body = this.compile(sub, loop);
          (this.states[loop] as { out: number }).out = body;
          entry = loop;
        } else {
          // (sub(sub)?)? … : each optional copy may skip straight to `next`.
          for (let i = 0; i < max - min; i++) {
            const body = this.compile(sub, entry);
            entry = this.#add({ op: "split", out: body, out1: next });
          }
        }
        for (let i = 0; i < min; i++) entry = this.compile(sub, entry);
        return entry;
      }
    }
  }
}

const isWordChar = (c: number | undefined) => c !== undefined && (isAsciiAlnum(c) || c === 0x5f);

/** A compiled pattern: Go's `regexp.MustCompile(pattern).MatchString`, in linear time. */
export interface Re2Pattern {
  /** The pattern as given. */
  readonly source: string;
  /**
   * Whether the pattern matches anywhere in `text` (unanchored, as Go's `MatchString`).
   *
   * @param text The text; a lone surrogate reads as U+FFFD (Go's reading of invalid UTF-8).
   */
  matchString(text: string): boolean;
}

/**
 * Parses and compiles a Go regular expression (see the module text for the syntax).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileRe2, Re2SyntaxError } from "./re2.ts";
 * const re = compileRe2(String.raw`refs/tags/v\d+\.\d+`);
 * assert.equal(re.matchString("https://github.com/o/r/.github/workflows/x.yml@refs/tags/v1.2"), true);
 * assert.equal(re.matchString("refs/heads/main"), false);
 * assert.equal(compileRe2("(?i)^HTTPS://").matchString("https://x"), true);
 * assert.throws(() => compileRe2("(a)\\1"), { message: "error parsing regexp: invalid escape sequence: `\\1`" });
 * assert.throws(() => compileRe2("a(?=b)"), Re2SyntaxError);
 * ```
 *
 * @param pattern The pattern, in Go's syntax.
 * @returns The compiled pattern.
 * @throws {Re2SyntaxError} When Go would refuse the pattern, or it uses a construct refused here.
 */
export function compileRe2(pattern: string): Re2Pattern {
  const node = new Parser(pattern).parse();
  const compiler = new Compiler();
  const match = compiler.states.length;
  compiler.states.push({ op: "match" });
  const start = compiler.compile(node, match);
  const states = compiler.states;
  return Object.freeze({
    source: pattern,
    matchString: (text: string) => run(states, start, text),
  });
}

/** The Pike VM: every thread advances in step, so the cost is O(states × input). */
function run(states: readonly State[], start: number, text: string): boolean {
  const input = codePoints(text).map((c) => (c < 0 ? 0xfffd : c));
  const n = input.length;
  const mark = new Int32Array(states.length).fill(-1);
  let current: number[] = [];
  let next: number[] = [];
  let generation = 0;
  const stack: number[] = [];

  /** Adds `s` and everything reachable from it without consuming input; true when it reaches the match. */
  const addClosure = (list: number[], s: number, pos: number): boolean => {
    stack.push(s);
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (mark[id] === generation) continue;
      mark[id] = generation;
      const st = states[id];
      switch (st.op) {
        case "match":
          stack.length = 0;
          return true;
        case "char":
          list.push(id);
          break;
        case "split":
          stack.push(st.out1, st.out);
          break;
        case "assert":
          if (assertionHolds(st.kind, input, pos)) stack.push(st.out);
          break;
      }
    }
    return false;
  };

  for (let pos = 0; pos <= n; pos++) {
    // `current` holds the char states reached at `pos` (their closure was computed with generation pos).
    generation = pos;
    if (addClosure(current, start, pos)) return true; // unanchored: a new thread starts at every position
    if (pos === n) break;
    const c = input[pos];
    next.length = 0;
    generation = pos + 1; // the closure of the next position
    for (const id of current) {
      const st = states[id] as { test: CharTest; out: number };
      if (st.test(c) && addClosure(next, st.out, pos + 1)) return true;
    }
    [current, next] = [next, current];
  }
  return false;
}

function assertionHolds(
  kind: "beginLine" | "endLine" | "beginText" | "endText" | "wordB" | "noWordB",
  input: readonly number[],
  pos: number,
): boolean {
  switch (kind) {
    case "beginText":
      return pos === 0;
    case "endText":
      return pos === input.length;
    case "beginLine":
      return pos === 0 || input[pos - 1] === 0x0a;
    case "endLine":
      return pos === input.length || input[pos] === 0x0a;
    case "wordB":
      return isWordChar(input[pos - 1]) !== isWordChar(input[pos]);
    case "noWordB":
      return isWordChar(input[pos - 1]) === isWordChar(input[pos]);
  }
}
