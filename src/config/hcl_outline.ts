/**
 * A fast, bounded pre-pass over HCL v1 text that runs before the real parser (`js-hcl-parser`, hashicorp/hcl
 * v1 compiled by GopherJS). It follows hashicorp/hcl v1's scanner rune for rune and its parser's grammar
 * (`objectList`, `objectItem`, `objectKey`, `object`, `objectType`, `listType`), but builds nothing: it
 * records where every object key is, and enforces {@linkcode HclLimits} before the real parser sees the
 * text. Why:
 *
 * - **Bounds.** The GopherJS parser recurses once per nesting level and has a small stack: about 300 nested
 *   blocks overflow it, and an overflow leaves its Go runtime's defer/panic stacks half unwound, so the next,
 *   valid parse fails too. It is also slow (about 50 µs per key, 2.6 s for a 3.9 MB string). The limits are
 *   checked on the token stream even when the text has a syntax error, because the real parser keeps going
 *   after some errors; a text over a limit never reaches it.
 * - **Keys as written.** hcl v1 decodes into a Go map, so a key given twice (`a = 1` then `a = 2`) silently
 *   keeps the last value, and the order and lines of keys are lost. The key positions found here let the
 *   caller give every key a unique name before the real parser runs, so nothing collapses, and map each
 *   entry back to its spelling and line.
 * - **Values hcl v1 drops.** `k =` at the end of the input, and `k = }` inside a block followed by a second
 *   `}`, are accepted by hcl v1 and the item is silently dropped; here they are errors.
 *
 * @module
 */

import { utf8Length } from "../clip.ts";
import { Scanner } from "./hcl_scanner.ts";
import {
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
  RBRACE,
  RBRACK,
  STRING,
  type Token,
  TYPE_NAMES,
} from "./hcl_token.ts";

/** The bounds on a configuration text, checked before the real parser runs. */
export interface HclLimits {
  /** Nesting levels: each `{`, each `[` and each block label beyond the first key count one. */
  readonly maxDepth: number;
  /** Object keys in the whole text (block labels included). */
  readonly maxKeys: number;
  /** List items in the whole text. */
  readonly maxListItems: number;
  /** UTF-8 bytes of one token: a string or heredoc (quotes and markers included), a key, a number. */
  readonly maxTokenBytes: number;
  /** Tokens in the whole text, comments not counted (a backstop for texts with syntax errors). */
  readonly maxTokens: number;
}

/** One object key as written: a bare identifier or a quoted string. */
export interface HclKeyToken {
  /** Offset of the token in the text. */
  readonly start: number;
  /** Offset just past the token. */
  readonly end: number;
  /** True for a quoted key (`"k8s"`), false for an identifier. */
  readonly quoted: boolean;
  /**
   * When the key's value is a list, the offset of each list item (hcl v1 turns a list of objects into a
   * repeated block; these tell the lines of the repetitions).
   */
  readonly itemStarts: readonly number[];
}

/** The outcome of {@linkcode outlineHcl}. */
export type HclOutline =
  /** The text is valid HCL v1 within the limits; every key, in the order written. */
  | { readonly kind: "ok"; readonly keys: readonly HclKeyToken[] }
  /** A limit is exceeded at `offset`: the text must not be given to the real parser. */
  | { readonly kind: "limit"; readonly offset: number; readonly message: string }
  /** A value hcl v1 would silently drop (see the module text): an error of its own. */
  | { readonly kind: "dropped"; readonly offset: number; readonly message: string }
  /** A syntax error (within the limits): the real parser may be run to describe it in its own words. */
  | { readonly kind: "syntax"; readonly offset: number; readonly message: string };

/** Thrown inside the outline to stop at once with a result. */
class Stop {
  constructor(readonly result: Exclude<HclOutline, { kind: "ok" }>) {}
}

/** The grammar of hcl v1's parser, recording keys and counting everything {@linkcode HclLimits} bounds. */
class Outliner {
  readonly keys: HclKeyToken[] = [];
  #sc: Scanner;
  #tok: Token = { type: EOF_T, start: 0, end: 0 };
  #buffered = false;
  #items = 0;
  #tokens = 0;
  /** Nesting weights of the open `{`/`[` tokens, and their sum. */
  #weights: number[] = [];
  #depth = 0;
  /** Identifiers and strings read in a row (block labels before a `{`). */
  #run = 0;
  /** Key texts of the items being read, for messages. */
  #path: string[] = [];

  constructor(readonly src: string, readonly limits: HclLimits) {
    this.#sc = new Scanner(src);
  }

  #limit(offset: number, message: string): never {
    throw new Stop({ kind: "limit", offset, message });
  }

  #syntax(offset: number, message: string): never {
    throw new Stop({ kind: "syntax", offset, message });
  }

  /** The next non-comment token, counted and checked against the limits. */
  scan(): Token {
    if (this.#buffered) {
      this.#buffered = false;
      return this.#tok;
    }
    let t = this.#sc.scan();
    for (; t.type === COMMENT; t = this.#sc.scan()) this.#checkSize(t);
    this.#account(t);
    this.#tok = t;
    return t;
  }

  #unscan(): void {
    this.#buffered = true;
  }

  #checkSize(t: Token): void {
    const max = this.limits.maxTokenBytes;
    if ((t.end - t.start) * 3 <= max) return;
    const bytes = utf8Length(this.src.slice(t.start, t.end));
    if (bytes <= max) return;
    const what = t.type === STRING || t.type === HEREDOC
      ? "a string"
      : t.type === IDENT
      ? "a key"
      : t.type === COMMENT
      ? "a comment"
      : "a token";
    const owner = this.#path.length > 0 ? ` (in ${this.#path.join(".")})` : "";
    this.#limit(t.start, `${what} of ${bytes} bytes${owner}; at most ${max} bytes are accepted`);
  }

  #account(t: Token): void {
    const { maxDepth, maxTokens } = this.limits;
    if (t.type === EOF_T) return;
    if (++this.#tokens > maxTokens) this.#limit(t.start, `more than ${maxTokens} tokens`);
    this.#checkSize(t);
    switch (t.type) {
      case LBRACK:
      case LBRACE: {
        const weight = t.type === LBRACE ? 1 + Math.max(0, this.#run - 1) : 1;
        this.#weights.push(weight);
        this.#depth += weight;
        this.#run = 0;
        if (this.#depth > maxDepth) {
          this.#limit(
            t.start,
            `nesting deeper than ${maxDepth} levels (each block, object, list and block label is a level)`,
          );
        }
        return;
      }
      case RBRACK:
      case RBRACE:
        this.#depth -= this.#weights.pop() ?? 0;
        this.#run = 0;
        return;
      case IDENT:
      case STRING:
        // Keys in a row are block labels: each is a level once the `{` comes. Stop long chains early.
        if (this.#depth + ++this.#run - 1 > maxDepth) {
          this.#limit(
            t.start,
            `nesting deeper than ${maxDepth} levels (each block, object, list and block label is a level)`,
          );
        }
        return;
      default:
        this.#run = 0;
    }
  }

  /** Runs the grammar over the whole text. */
  outline(): HclOutline {
    try {
      this.#objectList(false);
      const t = this.scan();
      if (t.type !== EOF_T) this.#syntax(t.start, `unexpected ${TYPE_NAMES[t.type]}`);
      if (this.#sc.error) return { kind: "syntax", ...this.#sc.error };
      return { kind: "ok", keys: this.keys };
    } catch (err) {
      if (!(err instanceof Stop)) throw err;
      if (err.result.kind === "limit") return err.result;
      // The real parser may read further than the grammar stopped: check the limits on the rest, too.
      try {
        while (this.scan().type !== EOF_T) { /* count and check */ }
      } catch (rest) {
        if (rest instanceof Stop) return rest.result;
        throw rest;
      }
      if (err.result.kind === "syntax" && this.#sc.error) return { kind: "syntax", ...this.#sc.error };
      return err.result;
    }
  }

  /** hcl `objectList`: items, each optionally followed by a comma; inside an object it ends at `}`. */
  #objectList(inObject: boolean): void {
    for (;;) {
      if (inObject) {
        const t = this.scan();
        this.#unscan();
        if (t.type === RBRACE) return;
      }
      if (this.#objectItem(inObject) === "eof") return;
      const t = this.scan();
      if (t.type !== COMMA) this.#unscan();
    }
  }

  /** hcl `objectItem` with `objectKey`: keys, then `= value` or `{ ... }`. Returns "eof" at the end. */
  #objectItem(inObject: boolean): "eof" | "item" {
    const keys: Token[] = [];
    let t: Token;
    for (;;) {
      t = this.scan();
      if (t.type === EOF_T) {
        if (keys.length === 0) return "eof";
        this.#syntax(t.start, "key expected start of object ('{') or assignment ('=')");
      }
      if (t.type === IDENT || t.type === STRING) {
        keys.push(t);
        continue;
      }
      if (t.type === ASSIGN) {
        if (keys.length > 1) this.#syntax(t.start, "nested object expected: LBRACE got: ASSIGN");
        if (keys.length === 0) this.#syntax(t.start, "no object keys found!");
        break;
      }
      if (t.type === LBRACE) {
        if (keys.length === 0) this.#syntax(t.start, "expected: IDENT | STRING got: LBRACE");
        break;
      }
      if (t.type === ILLEGAL) this.#syntax(t.start, "illegal character");
      this.#syntax(t.start, `expected: IDENT | STRING | ASSIGN | LBRACE got: ${TYPE_NAMES[t.type]}`);
    }
    const recorded: { starts: number[] }[] = [];
    for (const k of keys) {
      if (this.keys.length >= this.limits.maxKeys) {
        this.#limit(k.start, `more than ${this.limits.maxKeys} keys`);
      }
      const itemStarts: number[] = [];
      this.keys.push({ start: k.start, end: k.end, quoted: k.type === STRING, itemStarts });
      recorded.push({ starts: itemStarts });
    }
    const pathText = keys.map((k) => this.src.slice(k.start, Math.min(k.end, k.start + 64))).join(".");
    this.#path.push(pathText);
    try {
      if (t.type === ASSIGN) {
        const assign = t;
        const v = this.scan();
        if (v.type === EOF_T) {
          // hcl v1 ends the list here and drops the item (at the top level without any error).
          if (!inObject) this.#dropped(assign.start, "the end of the input");
          this.#syntax(v.start, "object expected closing RBRACE got: EOF");
        }
        if (v.type === LBRACK) this.#listType(recorded[recorded.length - 1].starts);
        else if (v.type === LBRACE) this.#objectType();
        else if (![NUMBER, FLOAT, BOOL, STRING, HEREDOC].includes(v.type)) {
          // hcl v1 ignores this error when the bad token is a `}` that a later `}` balances; never here.
          if (inObject && v.type === RBRACE) this.#dropped(assign.start, "'}'");
          this.#syntax(v.start, `Unknown token: ${TYPE_NAMES[v.type]}`);
        }
      } else {
        this.#objectType();
      }
    } finally {
      this.#path.pop();
    }
    return "item";
  }

  #dropped(assignAt: number, found: string): never {
    throw new Stop({
      kind: "dropped",
      offset: assignAt,
      message: `expected a value after '=', found ${found}`,
    });
  }

  /** hcl `objectType`, the `{` already read. */
  #objectType(): void {
    this.#objectList(true);
    const t = this.scan();
    if (t.type !== RBRACE) this.#syntax(t.start, `object expected closing RBRACE got: ${TYPE_NAMES[t.type]}`);
  }

  /**
   * hcl `listType`, the `[` already read. A literal or object item must be followed by `,` or `]`; a nested
   * list need not be; extra commas are allowed. `starts` collects the offset of every item.
   */
  #listType(starts: number[] | null): void {
    let needComma = false;
    for (;;) {
      const t = this.scan();
      if (needComma && t.type !== COMMA && t.type !== RBRACK) {
        this.#syntax(t.start, `error parsing list, expected comma or list end, got: ${TYPE_NAMES[t.type]}`);
      }
      switch (t.type) {
        case BOOL:
        case NUMBER:
        case FLOAT:
        case STRING:
        case HEREDOC:
          this.#item(t, starts);
          needComma = true;
          break;
        case COMMA:
          needComma = false;
          break;
        case LBRACE:
          this.#item(t, starts);
          this.#objectType();
          needComma = true;
          break;
        case LBRACK:
          this.#item(t, starts);
          this.#listType(null);
          break;
        case RBRACK:
          return;
        default:
          this.#syntax(t.start, `unexpected token while parsing list: ${TYPE_NAMES[t.type]}`);
      }
    }
  }

  #item(t: Token, starts: number[] | null): void {
    if (++this.#items > this.limits.maxListItems) {
      this.#limit(t.start, `more than ${this.limits.maxListItems} list items`);
    }
    starts?.push(t.start);
  }
}

/**
 * Outlines HCL v1 text: checks {@linkcode HclLimits} on every token (also after a syntax error) and, for
 * valid text, returns every object key in order. Linear in the length of the text; never throws for any
 * input and uses no recursion deeper than `limits.maxDepth`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outlineHcl } from "./hcl_outline.ts";
 * const limits = { maxDepth: 32, maxKeys: 1000, maxListItems: 1000, maxTokenBytes: 65536, maxTokens: 10000 };
 * const r = outlineHcl('a = 1\nb "c" { d = [1, 2] }', limits);
 * assert.equal(r.kind, "ok");
 * assert.equal(r.kind === "ok" && r.keys.length, 4);
 * assert.equal(outlineHcl("a = " + "[".repeat(40) + "]".repeat(40), limits).kind, "limit");
 * ```
 *
 * @param text The configuration text (not JSON).
 * @param limits The bounds.
 * @returns The keys, or the first limit exceeded, a dropped value or a syntax error (with its offset).
 */
export function outlineHcl(text: string, limits: HclLimits): HclOutline {
  return new Outliner(text, limits).outline();
}
