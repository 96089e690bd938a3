/**
 * A strict RFC 8259 JSON reader that keeps what `JSON.parse` throws away: repeated keys, the exact text
 * of numbers, and the line and column of a syntax error (without echoing the input).
 *
 * @module
 */

/**
 * A JSON value with object members kept in order, duplicates included, and numbers as written. `at` is the
 * offset in the text where the value starts; each member also carries the offset of its key.
 */
export type JsonValue =
  | { readonly t: "string"; readonly value: string; readonly at: number }
  | { readonly t: "number"; readonly text: string; readonly at: number }
  | { readonly t: "bool"; readonly value: boolean; readonly at: number }
  | { readonly t: "null"; readonly at: number }
  | { readonly t: "array"; readonly items: readonly JsonValue[]; readonly at: number }
  | { readonly t: "object"; readonly members: readonly JsonMember[]; readonly at: number };

/** One `"key": value` of an object: the key, the value and the offset of the key's opening quote. */
export type JsonMember = readonly [key: string, value: JsonValue, keyAt: number];

/** Options of {@linkcode readJson}. */
export interface ReadJsonOptions {
  /** Deeper nesting (objects and arrays) is a syntax error. @default {MAX_JSON_DEPTH} */
  readonly maxDepth?: number;
  /** More object members in the whole document stop the reading (a limit failure). @default {Infinity} */
  readonly maxKeys?: number;
  /** More array items in the whole document stop the reading (a limit failure). @default {Infinity} */
  readonly maxItems?: number;
}

/** The outcome of {@linkcode readJson}. `limit` marks a `maxKeys`/`maxItems` failure (not a syntax error). */
export type JsonReadResult =
  | { readonly ok: true; readonly value: JsonValue }
  | {
    readonly ok: false;
    readonly line: number;
    readonly column: number;
    readonly message: string;
    readonly limit?: true;
  };

/** Deeper nesting than this is refused (a configuration never needs it; it bounds recursion). */
export const MAX_JSON_DEPTH = 64;

class JsonSyntaxError extends Error {
  constructor(readonly offset: number, message: string, readonly limit = false) {
    super(message);
  }
}

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Reader {
  pos = 0;
  keys = 0;
  items = 0;
  constructor(
    readonly src: string,
    readonly maxDepth: number,
    readonly maxKeys: number,
    readonly maxItems: number,
  ) {}

  skipSpace(): void {
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.pos++;
      else break;
    }
  }

  fail(message: string, offset = this.pos): never {
    throw new JsonSyntaxError(offset, message);
  }

  describeHere(): string {
    if (this.pos >= this.src.length) return "end of input";
    const cp = this.src.codePointAt(this.pos)!;
    return cp >= 0x21 && cp <= 0x7e
      ? `'${String.fromCodePoint(cp)}'`
      : `character U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  }

  value(depth: number): JsonValue {
    this.skipSpace();
    const at = this.pos;
    const c = this.src[this.pos];
    if ((c === "{" || c === "[") && depth >= this.maxDepth) {
      this.fail(`nesting deeper than ${this.maxDepth} levels`);
    }
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return { t: "string", value: this.string(), at };
    if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER_RE.lastIndex = this.pos;
      const m = NUMBER_RE.exec(this.src);
      if (!m) this.fail("invalid number");
      this.pos += m[0].length;
      return { t: "number", text: m[0], at };
    }
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.src.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v === null ? { t: "null", at } : { t: "bool", value: v, at };
      }
    }
    return this.fail(`expected a value, found ${this.describeHere()}`);
  }

  string(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = "";
    for (;;) {
      if (this.pos >= this.src.length) this.fail("string not terminated", start);
      const c = this.src[this.pos];
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c < " ") this.fail("control character in string");
      if (c === "\\") {
        const e = this.src[this.pos + 1];
        if (e === "u") {
          const hex = this.src.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\u escape in string");
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 6;
        } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          out += ESCAPES[e];
          this.pos += 2;
        } else {
          this.fail("invalid escape in string");
        }
      } else {
        out += c;
        this.pos++;
      }
    }
  }

  object(depth: number): JsonValue {
    const at = this.pos;
    this.pos++; // {
    const members: JsonMember[] = [];
    this.skipSpace();
    if (this.src[this.pos] === "}") {
      this.pos++;
      return { t: "object", members, at };
    }
    for (;;) {
      this.skipSpace();
      if (this.src[this.pos] !== '"') this.fail(`expected a quoted key, found ${this.describeHere()}`);
      const keyAt = this.pos;
      if (++this.keys > this.maxKeys) {
        throw new JsonSyntaxError(keyAt, `more than ${this.maxKeys} keys`, true);
      }
      const key = this.string();
      this.skipSpace();
      if (this.src[this.pos] !== ":") this.fail(`expected ':' after a key, found ${this.describeHere()}`);
      this.pos++;
      members.push([key, this.value(depth + 1), keyAt]);
      this.skipSpace();
      const c = this.src[this.pos];
      if (c === ",") {
        this.pos++;
        continue;
      }
      if (c === "}") {
        this.pos++;
        return { t: "object", members, at };
      }
      this.fail(`expected ',' or '}' in an object, found ${this.describeHere()}`);
    }
  }

  array(depth: number): JsonValue {
    const at = this.pos;
    this.pos++; // [
    const items: JsonValue[] = [];
    this.skipSpace();
    if (this.src[this.pos] === "]") {
      this.pos++;
      return { t: "array", items, at };
    }
    for (;;) {
      this.skipSpace();
      if (++this.items > this.maxItems) {
        throw new JsonSyntaxError(this.pos, `more than ${this.maxItems} list items`, true);
      }
      items.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.src[this.pos];
      if (c === ",") {
        this.pos++;
        continue;
      }
      if (c === "]") {
        this.pos++;
        return { t: "array", items, at };
      }
      this.fail(`expected ',' or ']' in a list, found ${this.describeHere()}`);
    }
  }
}

/**
 * Converts a string offset into a 1-based line and column (column counted in UTF-16 code units). Linear in
 * `offset`; for many look-ups in one text use {@linkcode LineIndex}.
 *
 * @param text The whole text.
 * @param offset The offset into `text`.
 * @returns The line and column.
 */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  return new LineIndex(text).at(offset);
}

/**
 * The start offsets of the lines of a text, for many offset → line/column look-ups (each a binary search).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineIndex } from "./json.ts";
 * assert.deepEqual(new LineIndex("ab\ncd").at(4), { line: 2, column: 2 });
 * ```
 */
export class LineIndex {
  readonly #starts: number[] = [0];
  readonly #length: number;

  /**
   * Indexes the line starts of `text`.
   *
   * @param text The whole text.
   */
  constructor(text: string) {
    this.#length = text.length;
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.#starts.push(i + 1);
  }

  /**
   * The line and column of an offset (binary search over the line starts).
   *
   * @param offset An offset into the text (clamped to its length).
   * @returns The 1-based line and column of `offset`.
   */
  at(offset: number): { line: number; column: number } {
    const end = Math.max(0, Math.min(offset, this.#length));
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid] <= end) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: end - this.#starts[lo] + 1 };
  }

  /**
   * The line of an offset.
   *
   * @param offset An offset into the text.
   * @returns The 1-based line of `offset`.
   */
  lineOf(offset: number): number {
    return this.at(offset).line;
  }
}

/**
 * Reads one JSON document strictly (no trailing text, no comments, no trailing commas). Never throws.
 *
 * @param text The JSON text.
 * @param options The nesting limit.
 * @returns The value, or the position and a description of the first syntax error.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readJson } from "./json.ts";
 * const r = readJson('{"a": 1, "a": 2}');
 * assert.ok(r.ok && r.value.t === "object" && r.value.members.length === 2);
 * ```
 */
export function readJson(text: string, options: ReadJsonOptions = {}): JsonReadResult {
  const r = new Reader(
    text,
    options.maxDepth ?? MAX_JSON_DEPTH,
    options.maxKeys ?? Infinity,
    options.maxItems ?? Infinity,
  );
  try {
    const value = r.value(0);
    r.skipSpace();
    if (r.pos < text.length) r.fail(`unexpected ${r.describeHere()} after the JSON document`);
    return { ok: true, value };
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      const { line, column } = lineColumnAt(text, err.offset);
      return err.limit
        ? { ok: false, line, column, message: err.message, limit: true }
        : { ok: false, line, column, message: err.message };
    }
    // Only a RangeError (stack exhaustion) could get here; depth is bounded, so this is defensive.
    return { ok: false, line: 1, column: 1, message: `cannot read JSON: ${String(err)}` };
  }
}
