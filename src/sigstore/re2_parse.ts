/**
 * The parser of the Go-compatible regular expressions (`re2.ts`): Go's `regexp/syntax` rules and error
 * texts, producing the tree the matcher compiles.
 *
 * @module
 */

import {
  readClass,
  readEscape,
  readPerlClass,
  readRepeatBraces,
  sliceText,
  unicodeClassError,
} from "./re2_lex.ts";
import {
  codePoints,
  DOT_NL,
  FOLD,
  isAsciiAlnum,
  MAX_HEIGHT,
  MAX_RUNE,
  MULTILINE,
  type Node,
  NON_GREEDY,
  Re2SyntaxError,
} from "./re2_syntax.ts";

/** A parse stack item: a node, or the marker of an open group / alternation bar. */
export type Item =
  | { readonly k: "node"; readonly node: Node; readonly repeated: boolean; readonly startAt: number }
  | { readonly k: "paren"; readonly flags: number; readonly at: number }
  | { readonly k: "bar" };

/** Go's parser (`regexp/syntax.Parse` with `syntax.Perl`), building this module's {@linkcode Node}s. */
export class Parser {
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
    return sliceText(this.#src, from, to);
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
        case 0x5b: { // [
          const cls = readClass(src, start, (this.#flags & FOLD) !== 0);
          this.#pos = cls.end;
          this.#push(cls.value, start);
          break;
        }
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
          const r = readRepeatBraces(src, start);
          if (r === null) {
            this.#literal(c, start);
            this.#pos++;
            break;
          }
          this.#pos = r.end;
          const [min, max] = r.value;
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
        throw unicodeClassError(src, start);
    }
    const perl = readPerlClass(this.#src, start, (this.#flags & FOLD) !== 0);
    if (perl !== null) {
      this.#pos = perl.end;
      this.#push({ t: "class", pieces: [perl.value], negate: false }, start);
      return;
    }
    const escape = readEscape(this.#src, start);
    this.#pos = escape.end;
    this.#literal(escape.value, start);
  }
}

/** Go's `repeatIsValid`: nested counted repetitions may not multiply beyond `n`. */
export function repeatIsValid(node: Node, n: number): boolean {
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
