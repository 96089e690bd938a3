/**
 * hashicorp/hcl v1's scanner (`hcl/scanner`), ported rune for rune to JavaScript strings: it turns HCL v1
 * text into {@linkcode Token}s, records the first error (as the real scanner does, scanning goes on), and
 * builds no values. Used by the outline (`hcl_outline.ts`).
 *
 * @module
 */

import { utf8Length } from "../clip.ts";
import {
  ADD,
  ASSIGN,
  BOOL,
  COMMA,
  COMMENT,
  EOF_T,
  FLOAT,
  HEREDOC,
  IDENT,
  ILLEGAL,
  LBRACE,
  LBRACK,
  NUMBER,
  PERIOD,
  RBRACE,
  RBRACK,
  STRING,
  SUB,
  type Token,
} from "./hcl_token.ts";

/** Go's scanner returns rune 0 for the end of input (and a NUL character reads as the end, too). */
const EOF = 0;

const LETTER_RE = /^\p{L}$/u;
const DIGIT_RE = /^\p{Nd}$/u;

function isLetter(ch: number): boolean {
  return (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x41 && ch <= 0x5a) || ch === 0x5f ||
    (ch >= 0x80 && LETTER_RE.test(String.fromCodePoint(ch)));
}

function isDigit(ch: number): boolean {
  return (ch >= 0x30 && ch <= 0x39) || (ch >= 0x80 && DIGIT_RE.test(String.fromCodePoint(ch)));
}

function isDecimal(ch: number): boolean {
  return ch >= 0x30 && ch <= 0x39;
}

function isHexadecimal(ch: number): boolean {
  return isDecimal(ch) || (ch >= 0x61 && ch <= 0x66) || (ch >= 0x41 && ch <= 0x46);
}

function isWhitespace(ch: number): boolean {
  return ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d;
}

function digitVal(ch: number): number {
  if (isDecimal(ch)) return ch - 0x30;
  if (ch >= 0x61 && ch <= 0x66) return ch - 0x61 + 10;
  if (ch >= 0x41 && ch <= 0x46) return ch - 0x41 + 10;
  return 16;
}

const ch = (c: string): number => c.charCodeAt(0);

/** The tokens of one character that need no more scanning (the plain cases of hcl/scanner's switch). */
const SINGLE_CHAR_TOKENS: ReadonlyMap<number, number> = new Map([
  [ch("["), LBRACK],
  [ch("]"), RBRACK],
  [ch("{"), LBRACE],
  [ch("}"), RBRACE],
  [ch(","), COMMA],
  [ch("="), ASSIGN],
  [ch("+"), ADD],
]);

/** The escapes of one character after a backslash in a string (`\n`, `\"`, ...): a b f n r t v \ ". */
const SIMPLE_ESCAPES: ReadonlySet<number> = new Set([...'abfnrtv\\"'].map(ch));
/** The numeric escapes besides octal (`\0` to `\7`, 3 digits): their base and number of digits. */
const DIGIT_ESCAPES: ReadonlyMap<number, { readonly base: number; readonly count: number }> = new Map([
  [ch("x"), { base: 16, count: 2 }],
  [ch("u"), { base: 16, count: 4 }],
  [ch("U"), { base: 16, count: 8 }],
]);

/**
 * hashicorp/hcl v1 `hcl/scanner`, on a JavaScript string. Errors are recorded and scanning goes on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Scanner } from "./hcl_scanner.ts";
 * import { IDENT, TYPE_NAMES } from "./hcl_token.ts";
 * const sc = new Scanner('key = "v" # note');
 * const types: string[] = [];
 * for (let t = sc.scan(); t.type !== 0; t = sc.scan()) types.push(TYPE_NAMES[t.type]);
 * assert.deepEqual(types, ["IDENT", "ASSIGN", "STRING", "COMMENT"]);
 * assert.equal(new Scanner("k").scan().type, IDENT);
 * assert.equal(sc.error, null);
 * ```
 */
export class Scanner {
  /** Offset of the next character to read. */
  pos = 0;
  #prev = 0;
  /** Length of the last character read (0 at the end of the input), as Go's `lastCharLen`. */
  #last = 0;
  /** The first scanner error, if any (the real parser then fails). */
  error: { offset: number; message: string } | null = null;

  /**
   * Starts scanning at the beginning of `src`.
   *
   * @param src The text to scan (CRLF already turned into LF, as hcl v1 does before it scans).
   */
  constructor(readonly src: string) {}

  #err(message: string): void {
    if (this.error === null) this.error = { offset: Math.min(this.pos, this.src.length), message };
  }

  /** Reads the next character (a code point; 0 at the end of the input, or for a NUL character). */
  next(): number {
    if (this.pos >= this.src.length) {
      this.#last = 0;
      return EOF;
    }
    let cp = this.src.codePointAt(this.pos)!;
    this.#prev = this.pos;
    this.#last = cp > 0xffff ? 2 : 1;
    this.pos += this.#last;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a lone surrogate reaches Go as U+FFFD
    if (cp === 0) {
      this.#err("unexpected null character (0x00)");
      return EOF;
    }
    if (cp === 0xe123) {
      this.#err("unicode code point U+E123 reserved for internal use");
      return 0xfffd;
    }
    return cp;
  }

  /** Steps back over the character last read (once). */
  unread(): void {
    this.pos = this.#prev;
  }

  /** The next character, not read. */
  peek(): number {
    if (this.pos >= this.src.length) return EOF;
    return this.src.codePointAt(this.pos)!;
  }

  /** The next token, comments included; {@linkcode EOF_T} at the end of the input. */
  scan(): Token {
    let c = this.next();
    while (isWhitespace(c)) c = this.next();
    const start = this.pos - this.#last;
    let type: number;
    if (isLetter(c)) {
      type = IDENT;
      const text = this.#scanIdentifier(start);
      if (text === "true" || text === "false") type = BOOL;
    } else if (isDecimal(c)) {
      type = this.#scanNumber(c);
    } else {
      switch (c) {
        case EOF:
          type = EOF_T;
          break;
        case ch('"'):
          type = STRING;
          this.#scanString();
          break;
        case ch("#"):
        case ch("/"):
          type = COMMENT;
          this.#scanComment(c);
          break;
        case ch("."): {
          type = PERIOD;
          const p = this.peek();
          if (isDecimal(p)) {
            type = FLOAT;
            this.#scanExponent(this.#scanMantissa(p));
          }
          break;
        }
        case ch("<"):
          type = HEREDOC;
          this.#scanHeredoc();
          break;
        case ch("-"):
          if (isDecimal(this.peek())) type = this.#scanNumber(this.next());
          else type = SUB;
          break;
        default: {
          const single = SINGLE_CHAR_TOKENS.get(c);
          if (single === undefined) this.#err("illegal char");
          type = single ?? ILLEGAL;
        }
      }
    }
    return { type, start, end: this.pos };
  }

  #scanIdentifier(start: number): string {
    let c = this.next();
    while (isLetter(c) || isDigit(c) || c === ch("-") || c === ch(".")) c = this.next();
    if (c !== EOF) this.unread();
    return this.src.slice(start, this.pos);
  }

  #scanComment(c: number): void {
    if (c === ch("#") || (c === ch("/") && this.peek() !== ch("*"))) {
      if (c === ch("/") && this.peek() !== ch("/")) {
        this.#err("expected '/' for comment");
        return;
      }
      c = this.next();
      while (c !== ch("\n") && c !== EOF) c = this.next();
      if (c !== EOF) this.unread();
      return;
    }
    if (c === ch("/")) {
      this.next();
      c = this.next();
    }
    for (;;) {
      if (c === EOF) {
        this.#err("comment not terminated");
        break;
      }
      const c0 = c;
      c = this.next();
      if (c0 === ch("*") && c === ch("/")) break;
    }
  }

  #scanNumber(c: number): number {
    if (c === ch("0")) {
      c = this.next();
      if (c === ch("x") || c === ch("X")) {
        c = this.next();
        let found = false;
        while (isHexadecimal(c)) {
          c = this.next();
          found = true;
        }
        if (!found) this.#err("illegal hexadecimal number");
        if (c !== EOF) this.unread();
        return NUMBER;
      }
      let illegalOctal = false;
      while (isDecimal(c)) {
        c = this.next();
        if (c === ch("8") || c === ch("9")) illegalOctal = true;
      }
      if (this.#scanFloatTail(c)) return FLOAT;
      if (illegalOctal) this.#err("illegal octal number");
      if (c !== EOF) this.unread();
      return NUMBER;
    }
    this.#scanMantissa(c);
    c = this.next();
    if (this.#scanFloatTail(c)) return FLOAT;
    if (c !== EOF) this.unread();
    return NUMBER;
  }

  /** After a number's integer digits (`c` read): an exponent or a fraction makes it a float. */
  #scanFloatTail(c: number): boolean {
    if (c === ch("e") || c === ch("E")) {
      this.#scanExponent(c);
      return true;
    }
    if (c === ch(".")) {
      c = this.#scanFraction(c);
      if (c === ch("e") || c === ch("E")) this.#scanExponent(this.next());
      return true;
    }
    return false;
  }

  #scanMantissa(c: number): number {
    let scanned = false;
    while (isDecimal(c)) {
      c = this.next();
      scanned = true;
    }
    if (scanned && c !== EOF) this.unread();
    return c;
  }

  #scanFraction(c: number): number {
    if (c === ch(".")) c = this.#scanMantissa(this.peek());
    return c;
  }

  #scanExponent(c: number): number {
    if (c === ch("e") || c === ch("E")) {
      c = this.next();
      if (c === ch("-") || c === ch("+")) c = this.next();
      c = this.#scanMantissa(c);
    }
    return c;
  }

  #scanHeredoc(): void {
    if (this.next() !== ch("<")) {
      this.#err("heredoc expected second '<', didn't see it");
      return;
    }
    const offs = this.pos;
    let c = this.next();
    if (c === ch("-")) c = this.next();
    while (isLetter(c) || isDigit(c)) c = this.next();
    if (c === EOF) {
      this.#err("heredoc not terminated");
      return;
    }
    if (c === ch("\r") && this.peek() === ch("\n")) c = this.next();
    if (c !== ch("\n")) {
      this.#err("invalid characters in heredoc anchor");
      return;
    }
    const ident = this.src.slice(offs, this.pos - 1);
    if (ident === "") {
      this.#err("zero-length heredoc anchor");
      return;
    }
    const anchor = ident.startsWith("-") ? ident.slice(1) : ident;
    const escaped = anchor.replace(/[\\^$.*+?()[\]{}|/\r]/g, (m) => (m === "\r" ? "\\r" : `\\${m}`));
    const terminator = new RegExp(`^[ \\t\\n\\v\\f\\r]*${escaped}\\r*$`, "u");
    const identBytes = utf8Length(ident);
    let lineStart = this.pos;
    for (;;) {
      const d = this.next();
      if (d === ch("\n")) {
        const line = this.src.slice(lineStart, this.pos - 1);
        if (utf8Length(line) >= identBytes && terminator.test(line)) break;
        lineStart = this.pos;
      }
      if (d === EOF) {
        this.#err("heredoc not terminated");
        return;
      }
    }
  }

  #scanString(): void {
    let braces = 0;
    for (;;) {
      const c = this.next();
      if ((c === ch("\n") && braces === 0) || c === EOF) {
        this.#err("literal not terminated");
        return;
      }
      if (c === ch('"') && braces === 0) break;
      if (braces === 0 && c === ch("$") && this.peek() === ch("{")) {
        braces++;
        this.next();
      } else if (braces > 0 && c === ch("{")) {
        braces++;
      }
      if (braces > 0 && c === ch("}")) braces--;
      if (c === ch("\\")) this.#scanEscape();
    }
  }

  #scanEscape(): void {
    const c = this.next();
    if (SIMPLE_ESCAPES.has(c)) return;
    if (c >= ch("0") && c <= ch("7")) return this.#scanDigits(c, 8, 3);
    const digits = DIGIT_ESCAPES.get(c);
    if (digits) return this.#scanDigits(this.next(), digits.base, digits.count);
    this.#err("illegal char escape");
  }

  #scanDigits(c: number, base: number, n: number): void {
    const start = n;
    while (n > 0 && digitVal(c) < base) {
      c = this.next();
      if (c === EOF) break;
      n--;
    }
    if (n > 0) this.#err("illegal char escape");
    if (n !== start && c !== EOF) this.unread();
  }
}
