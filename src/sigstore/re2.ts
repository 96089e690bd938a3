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
const MAX_HEIGHT = 1000;
/** The most NFA states a pattern may compile to (Go refuses very large programs too). */
const MAX_STATES = 100_000;
const MAX_RUNE = 0x10ffff;

const FOLD = 1; // (?i)
const MULTILINE = 2; // (?m): ^ and $ match at line boundaries
const DOT_NL = 4; // (?s)
const NON_GREEDY = 8; // (?U)

type Ranges = number[]; // [lo0, hi0, lo1, hi1, …]

/** One part of a character class: ranges, folded (under `(?i)`) and then negated as Go's `appendGroup`. */
interface ClassPiece {
  readonly ranges: Ranges;
  readonly fold: boolean;
  readonly negate: boolean;
}

type Node =
  | { readonly t: "class"; readonly pieces: readonly ClassPiece[]; readonly negate: boolean }
  | { readonly t: "empty" }
  | {
    readonly t: "assert";
    readonly kind: "beginLine" | "endLine" | "beginText" | "endText" | "wordB" | "noWordB";
  }
  | { readonly t: "concat"; readonly subs: readonly Node[] }
  | { readonly t: "alt"; readonly subs: readonly Node[] }
  | { readonly t: "repeat"; readonly sub: Node; readonly min: number; readonly max: number }; // max -1: ∞

const PERL_CLASSES: Record<string, Ranges> = {
  d: [0x30, 0x39],
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
  w: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
};

const POSIX_CLASSES: Record<string, Ranges> = {
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

const isAsciiAlnum = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isOctal = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x37;
const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
function unhex(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** The code points of `s`; a lone surrogate is `-1` (Go would see invalid UTF-8). */
function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out.push(c >= 0xd800 && c <= 0xdfff ? -1 : c);
  }
  return out;
}

/** A parse stack item: a node, or the marker of an open group / alternation bar. */
type Item =
  | { readonly k: "node"; readonly node: Node; readonly repeated: boolean; readonly startAt: number }
  | { readonly k: "paren"; readonly flags: number; readonly at: number }
  | { readonly k: "bar" };

/** Go's parser (`regexp/syntax.Parse` with `syntax.Perl`), building this module's {@linkcode Node}s. */
class Parser {
  readonly #src: number[];
  readonly #text: string;
  #pos = 0;
  #flags = 0;
  #stack: Item[] = [];
  #depth = 0;

  constructor(text: string) {
    this.#text = text;
    this.#src = codePoints(text);
    if (this.#src.includes(-1)) throw new Re2SyntaxError("invalid UTF-8", text);
  }

  /** The pattern text of code points [from, to). */
  #slice(from: number, to = this.#pos): string {
    return String.fromCodePoint(...this.#src.slice(from, to));
  }

  #peek(offset = 0): number | undefined {
    return this.#src[this.#pos + offset];
  }

  #push(node: Node, startAt: number): void {
    this.#stack.push({ k: "node", node, repeated: false, startAt });
  }

  parse(): Node {
    const src = this.#src;
    let lastRepeatAt = -1; // start of the previous repetition operator, if the last item was one
    while (this.#pos < src.length) {
      const start = this.#pos;
      const c = src[this.#pos];
      let repeatOp = -1;
      switch (c) {
        case 0x28: // (
          if (this.#peek(1) === 0x3f) this.#perlFlags();
          else {
            this.#open(start);
            this.#pos++;
          }
          break;
        case 0x7c: // |
          this.#bar();
          this.#pos++;
          break;
        case 0x29: // )
          this.#close();
          this.#pos++;
          break;
        case 0x5e: // ^
          this.#push({ t: "assert", kind: this.#flags & MULTILINE ? "beginLine" : "beginText" }, start);
          this.#pos++;
          break;
        case 0x24: // $
          this.#push({ t: "assert", kind: this.#flags & MULTILINE ? "endLine" : "endText" }, start);
          this.#pos++;
          break;
        case 0x2e: // .
          this.#push(
            {
              t: "class",
              pieces: [{
                ranges: this.#flags & DOT_NL ? [0, MAX_RUNE] : [0, 0x09, 0x0b, MAX_RUNE],
                fold: false,
                negate: false,
              }],
              negate: false,
            },
            start,
          );
          this.#pos++;
          break;
        case 0x5b: // [
          this.#parseClass();
          break;
        case 0x2a: // *
        case 0x2b: // +
        case 0x3f: { // ?
          this.#pos++;
          const [min, max] = c === 0x2a ? [0, -1] : c === 0x2b ? [1, -1] : [0, 1];
          this.#repeat(min, max, start, lastRepeatAt);
          repeatOp = start;
          break;
        }
        case 0x7b: { // {
          const r = this.#parseRepeatBraces();
          if (r === null) {
            this.#literal(c, start);
            this.#pos++;
            break;
          }
          const [min, max] = r;
          if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) {
            throw new Re2SyntaxError("invalid repeat count", this.#slice(start));
          }
          this.#repeat(min, max, start, lastRepeatAt);
          repeatOp = start;
          break;
        }
        case 0x5c: // \
          this.#parseBackslash();
          break;
        default:
          this.#literal(c, start);
          this.#pos++;
      }
      lastRepeatAt = repeatOp;
    }
    this.#concat();
    this.#alternate();
    if (this.#stack.length !== 1) {
      throw new Re2SyntaxError("missing closing )", this.#text);
    }
    return (this.#stack[0] as { node: Node }).node;
  }

  #literal(c: number, startAt: number): void {
    this.#push(
      {
        t: "class",
        pieces: [{ ranges: [c, c], fold: (this.#flags & FOLD) !== 0, negate: false }],
        negate: false,
      },
      startAt,
    );
  }

  #open(at: number): void {
    if (++this.#depth > MAX_HEIGHT) throw new Re2SyntaxError("expression nests too deeply", this.#text);
    this.#stack.push({ k: "paren", flags: this.#flags, at });
  }

  #perlFlags(): void {
    const src = this.#src;
    const start = this.#pos;
    const named = src[start + 2] === 0x50 && src[start + 3] === 0x3c; // (?P<
    const namedShort = src[start + 2] === 0x3c; // (?< (Go also reads (?<= and (?<! as a bad name)
    if (named || namedShort) {
      const nameStart = start + (named ? 4 : 3);
      let end = nameStart;
      while (end < src.length && src[end] !== 0x3e) end++;
      if (end >= src.length) {
        throw new Re2SyntaxError("invalid named capture", this.#slice(start, src.length));
      }
      const name = src.slice(nameStart, end);
      if (name.length === 0 || !name.every((ch) => ch === 0x5f || isAsciiAlnum(ch))) {
        throw new Re2SyntaxError("invalid named capture", this.#slice(start, end + 1));
      }
      this.#open(start);
      this.#pos = end + 1;
      return;
    }
    let i = start + 2;
    let flags = this.#flags;
    let sign = 1;
    let sawFlag = false;
    while (i < src.length) {
      const c = src[i++];
      const bit = c === 0x69
        ? FOLD
        : c === 0x6d
        ? MULTILINE
        : c === 0x73
        ? DOT_NL
        : c === 0x55
        ? NON_GREEDY
        : 0;
      if (bit !== 0) {
        flags = sign > 0 ? flags | bit : flags & ~bit;
        sawFlag = true;
        continue;
      }
      if (c === 0x2d && sign > 0) { // -
        sign = -1;
        sawFlag = false;
        continue;
      }
      if ((c === 0x3a || c === 0x29) && !(sign < 0 && !sawFlag)) { // : or )
        if (c === 0x3a) this.#open(start);
        this.#flags = flags;
        this.#pos = i;
        return;
      }
      break;
    }
    throw new Re2SyntaxError("invalid or unsupported Perl syntax", this.#slice(start, i));
  }

  /** Collapses the items above the last marker into one concatenation. */
  #concat(): void {
    let i = this.#stack.length;
    while (i > 0 && this.#stack[i - 1].k === "node") i--;
    const items = this.#stack.splice(i) as { node: Node; startAt: number }[];
    const subs = items.map((it) => it.node);
    const node: Node = subs.length === 0
      ? { t: "empty" }
      : subs.length === 1
      ? subs[0]
      : { t: "concat", subs };
    this.#stack.push({ k: "node", node, repeated: false, startAt: items[0]?.startAt ?? this.#pos });
  }

  /** Collapses `a | b | c` above the last paren into one alternation. */
  #alternate(): void {
    let i = this.#stack.length;
    while (i > 0 && this.#stack[i - 1].k !== "paren") i--;
    const items = this.#stack.splice(i).filter((it) => it.k === "node") as { node: Node; startAt: number }[];
    const subs = items.map((it) => it.node);
    const node: Node = subs.length === 1 ? subs[0] : { t: "alt", subs };
    this.#stack.push({ k: "node", node, repeated: false, startAt: items[0]?.startAt ?? this.#pos });
  }

  #bar(): void {
    this.#concat();
    this.#stack.push({ k: "bar" });
  }

  #close(): void {
    this.#concat();
    this.#alternate();
    const n = this.#stack.length;
    if (n < 2 || this.#stack[n - 2].k !== "paren") throw new Re2SyntaxError("unexpected )", this.#text);
    const inner = this.#stack.pop() as { node: Node };
    const paren = this.#stack.pop() as { flags: number; at: number };
    this.#depth--;
    this.#flags = paren.flags;
    this.#stack.push({ k: "node", node: inner.node, repeated: false, startAt: paren.at });
  }

  #repeat(min: number, max: number, opStart: number, lastRepeatAt: number): void {
    if (this.#peek() === 0x3f) this.#pos++; // lazy: the same language
    if (lastRepeatAt >= 0) {
      throw new Re2SyntaxError("invalid nested repetition operator", this.#slice(lastRepeatAt));
    }
    const top = this.#stack.at(-1);
    if (top === undefined || top.k !== "node") {
      throw new Re2SyntaxError("missing argument to repetition operator", this.#slice(opStart));
    }
    const node: Node = { t: "repeat", sub: top.node, min, max };
    if ((min >= 2 || max >= 2) && !repeatIsValid(node, 1000)) {
      throw new Re2SyntaxError("invalid repeat count", this.#slice(opStart));
    }
    this.#stack[this.#stack.length - 1] = { k: "node", node, repeated: true, startAt: top.startAt };
  }

  /** `{n}`, `{n,}`, `{n,m}` at the position; null when it is not one (then `{` is a literal). */
  #parseRepeatBraces(): [number, number] | null {
    let i = this.#pos + 1;
    const src = this.#src;
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
    this.#pos = i + 1;
    return [min, max];
  }

  #parseBackslash(): void {
    const src = this.#src;
    const start = this.#pos;
    const next = src[start + 1];
    const assert = (kind: "beginText" | "endText" | "wordB" | "noWordB") => {
      this.#push({ t: "assert", kind }, start);
      this.#pos += 2;
    };
    switch (next) {
      case 0x41: // \A
        return assert("beginText");
      case 0x7a: // \z
        return assert("endText");
      case 0x62: // \b
        return assert("wordB");
      case 0x42: // \B
        return assert("noWordB");
      case 0x43: // \C
        throw new Re2SyntaxError("invalid escape sequence", "\\C");
      case 0x51: { // \Q … \E
        let i = start + 2;
        while (i < src.length && !(src[i] === 0x5c && src[i + 1] === 0x45)) {
          this.#literal(src[i], i);
          i++;
        }
        this.#pos = i < src.length ? i + 2 : i;
        return;
      }
      case 0x70: // \p
      case 0x50: // \P
        throw this.#unicodeClassError(start);
    }
    const perl = this.#perlClass(start);
    if (perl !== null) {
      this.#push({ t: "class", pieces: [perl], negate: false }, start);
      return;
    }
    const c = this.#parseEscape();
    this.#literal(c, start);
  }

  #unicodeClassError(start: number): Re2SyntaxError {
    let end = start + 2;
    if (this.#src[end] === 0x7b) {
      while (end < this.#src.length && this.#src[end] !== 0x7d) end++;
      end++;
    } else end++;
    return new Re2SyntaxError(
      "Unicode character classes are not supported here",
      this.#slice(start, Math.min(end, this.#src.length)),
    );
  }

  /** `\d \D \s \S \w \W` at the position (consumed), or null. */
  #perlClass(start: number): ClassPiece | null {
    const c = this.#src[start + 1];
    const name = c === undefined ? "" : String.fromCodePoint(c);
    if (!["d", "D", "s", "S", "w", "W"].includes(name)) return null;
    const lower = name.toLowerCase();
    this.#pos = start + 2;
    return { ranges: PERL_CLASSES[lower], fold: (this.#flags & FOLD) !== 0, negate: name !== lower };
  }

  /** Go's `parseEscape`: one escaped character at the position (consumed). */
  #parseEscape(): number {
    const src = this.#src;
    const start = this.#pos;
    let i = start + 1;
    if (i >= src.length) throw new Re2SyntaxError("trailing backslash at end of expression", "");
    const c = src[i++];
    const done = (r: number) => {
      this.#pos = i;
      return r;
    };
    const bad = () => new Re2SyntaxError("invalid escape sequence", this.#slice(start, i));
    if (c < 0x80 && !isAsciiAlnum(c)) return done(c);
    if ((c >= 0x31 && c <= 0x37 && isOctal(src[i])) || c === 0x30) {
      let r = c - 0x30;
      for (let k = 1; k < 3 && isOctal(src[i]); k++) r = r * 8 + src[i++] - 0x30;
      return done(r);
    }
    switch (c) {
      case 0x78: { // x
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
      case 0x61:
        return done(0x07);
      case 0x66:
        return done(0x0c);
      case 0x6e:
        return done(0x0a);
      case 0x72:
        return done(0x0d);
      case 0x74:
        return done(0x09);
      case 0x76:
        return done(0x0b);
    }
    throw bad();
  }

  #parseClass(): void {
    const src = this.#src;
    const start = this.#pos;
    let i = start + 1;
    let negate = false;
    if (src[i] === 0x5e) {
      negate = true;
      i++;
    }
    const fold = (this.#flags & FOLD) !== 0;
    const pieces: ClassPiece[] = [];
    const plain: Ranges = [];
    let first = true;
    const missing = () => new Re2SyntaxError("missing closing ]", this.#slice(start, src.length));
    while (i >= src.length || src[i] !== 0x5d || first) {
      if (i >= src.length) throw missing();
      first = false;
      if (src[i] === 0x5b && src[i + 1] === 0x3a) { // [:name:]
        let end = i + 2;
        while (end + 1 < src.length && !(src[end] === 0x3a && src[end + 1] === 0x5d)) end++;
        if (end + 1 < src.length) {
          let name = String.fromCodePoint(...src.slice(i + 2, end));
          const neg = name.startsWith("^");
          if (neg) name = name.slice(1);
          const ranges = Object.hasOwn(POSIX_CLASSES, name) ? POSIX_CLASSES[name] : undefined;
          if (ranges === undefined) {
            throw new Re2SyntaxError("invalid character class range", this.#slice(i, end + 2));
          }
          pieces.push({ ranges, fold, negate: neg });
          i = end + 2;
          continue;
        }
      }
      if (src[i] === 0x5c && (src[i + 1] === 0x70 || src[i + 1] === 0x50)) throw this.#unicodeClassError(i);
      if (src[i] === 0x5c) {
        this.#pos = i;
        const perl = this.#perlClass(i);
        if (perl !== null) {
          pieces.push(perl);
          i = this.#pos;
          continue;
        }
      }
      const rangeStart = i;
      const classChar = (): number => {
        if (i >= src.length) throw missing();
        if (src[i] === 0x5c) {
          this.#pos = i;
          const r = this.#parseEscape();
          i = this.#pos;
          return r;
        }
        return src[i++];
      };
      const lo = classChar();
      let hi = lo;
      if (i + 1 < src.length && src[i] === 0x2d && src[i + 1] !== 0x5d) {
        i++;
        hi = classChar();
        if (hi < lo) throw new Re2SyntaxError("invalid character class range", this.#slice(rangeStart, i));
      }
      plain.push(lo, hi);
    }
    this.#pos = i + 1;
    if (plain.length > 0) pieces.push({ ranges: plain, fold, negate: false });
    this.#push({ t: "class", pieces, negate }, start);
  }
}

/** Go's `repeatIsValid`: nested counted repetitions may not multiply beyond `n`. */
function repeatIsValid(node: Node, n: number): boolean {
  if (node.t === "repeat") {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > n) return false;
    if (m > 0) n = Math.trunc(n / m);
    return repeatIsValid(node.sub, n);
  }
  if (node.t === "concat" || node.t === "alt") return node.subs.every((s) => repeatIsValid(s, n));
  return true;
}

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
