/**
 * Turns `plugin_data` text (HCL v1, or JSON when the first non-space character is `{`, exactly like
 * Go's `hcl.Decode`) into one normalised tree. HCL v1 is parsed by the real hashicorp/hcl v1 code
 * (`js-hcl-parser`, a GopherJS build). HCL v1's generic tree writes both blocks and `x = {...}` objects
 * as `[{...}]` and a repeated block as `[{...}, {...}]`; the normalised tree instead lists one
 * {@linkcode ConfigEntry} per occurrence, with its line, so a key given twice is simply a key that occurs
 * twice.
 *
 * Before the real parser runs, `hcl_outline.ts` checks {@linkcode CONFIG_LIMITS} and finds every key; each
 * key is then given a unique name for the parse (hcl v1 decodes into a Go map, which would keep only the last
 * of two equal keys) and mapped back to its spelling and line afterwards. JSON text is read by `json.ts`
 * under the same limits.
 *
 * @module
 */

import { createRequire } from "node:module";
import { type JsonMember, type JsonValue, lineColumnAt, LineIndex, readJson } from "./json.ts";
import { type HclKeyToken, type HclLimits, outlineHcl } from "./hcl_outline.ts";
import { utf8Length } from "../clip.ts";

/** A value in the normalised configuration tree. Numbers keep their literal text. */
export type ConfigNode =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly text: string }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "null" }
  | { readonly kind: "list"; readonly items: readonly ConfigNode[] }
  | ConfigObject;

/** A block or object: its entries, one per occurrence of a key (repeats are kept). */
export interface ConfigObject {
  readonly kind: "object";
  readonly entries: readonly ConfigEntry[];
}

/** One `key = value` (or `key { ... }`) occurrence. */
export interface ConfigEntry {
  /** The key as written (HCL: unquoted). */
  readonly key: string;
  /** The value. */
  readonly value: ConfigNode;
  /** The 1-based line of the key (of the `{` for one object of a list of objects). */
  readonly line: number;
}

/** The outcome of {@linkcode parseConfigText}. */
export type ParseResult =
  | { readonly ok: true; readonly root: ConfigObject }
  | { readonly ok: false; readonly problem: string };

/** The prefix of every parse problem (SPIRE's own wording, so operators can grep for it). */
export const DECODE_PREFIX = "unable to decode configuration";

/**
 * The bounds on a configuration text (HCL and JSON alike), checked before any parser builds anything. A
 * real configuration uses a few dozen keys, four levels and short strings; the bounds keep every
 * Configure and Validate fast and small whatever the input, and keep the HCL parser far from its stack limit
 * (it overflows at about 300 levels).
 */
export const CONFIG_LIMITS: HclLimits = Object.freeze({
  maxDepth: 32,
  maxKeys: 1000,
  maxListItems: 1000,
  maxTokenBytes: 64 * 1024,
  maxTokens: 10_000,
});

type HclParse = (text: string) => string;

/** Loads js-hcl-parser's `parse` (the GopherJS prelude sets `Error.stackTraceLimit` to Infinity; undone). */
function withStackLimitKept<T>(load: () => T): T {
  const stackLimit = Error.stackTraceLimit;
  try {
    return load();
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
}

function parseFunctionOf(mod: unknown): HclParse | null {
  const m = mod as { default?: { parse?: unknown }; parse?: unknown } | null;
  const parse = (m?.default ?? m)?.parse;
  return typeof parse === "function" ? (parse as HclParse) : null;
}

/** The GopherJS parser. Its Go runtime reads the environment, so it needs env permission. */
const parser: { parse: HclParse | null; error: string } = await (async () => {
  try {
    const stackLimit = Error.stackTraceLimit;
    let mod: unknown;
    try {
      mod = await import("js-hcl-parser");
    } finally {
      Error.stackTraceLimit = stackLimit;
    }
    const parse = parseFunctionOf(mod);
    return parse ? { parse, error: "" } : { parse: null, error: "js-hcl-parser has no parse function" };
  } catch (err) {
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { parse: null, error: detail.split("\n")[0] };
  }
})();

/** A trivial document and what the parser answers for it, to tell a healthy runtime. */
const PROBE_TEXT = "k = 1";
const PROBE_JSON = '{\n    "k": 1\n}';

/**
 * Brings a js-hcl-parser `parse` whose GopherJS runtime was left half unwound back to health. An exception
 * thrown inside GopherJS code (a stack overflow, say) leaves the Go runtime's shared defer and panic stacks
 * half unwound, and the next call replays them and fails, too; each failing call unwinds part of what was
 * left. This calls `parse` on a trivial document until it answers correctly (at most 8 times).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { restoreGopherJsParse } from "./hcl.ts";
 * assert.equal(restoreGopherJsParse(() => '{\n    "k": 1\n}'), true);
 * assert.equal(restoreGopherJsParse(() => { throw new RangeError("Maximum call stack size exceeded"); }), false);
 * ```
 *
 * @param parse The `parse` function of one copy of js-hcl-parser.
 * @returns True when `parse` answers the trivial document correctly again.
 */
export function restoreGopherJsParse(parse: HclParse): boolean {
  for (let i = 0; i < 8; i++) {
    try {
      if (parse(PROBE_TEXT) === PROBE_JSON) return true;
    } catch {
      // this call unwound part of the leftovers
    }
  }
  return false;
}

/**
 * Makes the parser healthy again after it threw: preferably a fresh copy of the module (loaded again from
 * the package, its module-cache entry dropped first: a fresh Go runtime), else (in a bundle there is no
 * package to load) the same copy restored with {@linkcode restoreGopherJsParse}.
 */
function resetParser(): void {
  try {
    const require = createRequire(import.meta.url);
    const path = require.resolve("js-hcl-parser");
    delete require.cache[path];
    const fresh = parseFunctionOf(withStackLimitKept(() => require("js-hcl-parser")));
    if (fresh && restoreGopherJsParse(fresh)) {
      parser.parse = fresh;
      return;
    }
  } catch {
    // no package to load: restore the copy we have
  }
  if (parser.parse && restoreGopherJsParse(parser.parse)) return;
  parser.parse = null;
  parser.error = "the HCL parser failed and could not be restored";
}

/** The error prefix of js-hcl-parser's `parse` (its Go code formats errors into the returned string). */
const HCL_ERROR_PREFIX = "unable to parse JSON: ";
const POSITIONED_RE = /^At (\d+):(\d+): ([\s\S]*)$/;
const RANGE_RE = /^strconv\.Parse(?:Int|Float): parsing "([^"]*)": value out of range$/;

/** Go's `unicode.IsSpace` for the characters that can precede a JSON document. */
function isGoSpace(c: string): boolean {
  return /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(c);
}

/**
 * Tells whether `text` is JSON by `hcl.Decode`'s rule: its first non-space character is `{`.
 *
 * @param text The configuration text.
 * @returns True for JSON mode.
 */
export function isJsonText(text: string): boolean {
  for (const c of text) {
    if (isGoSpace(c)) continue;
    return c === "{";
  }
  return false;
}

/** Maps each member's key (and line) for {@linkcode toObject}; null when the member cannot be mapped. */
type KeyMapper = (
  member: JsonMember,
) => { key: string; line: number; itemLines: (i: number) => number } | null;

/** Thrown while converting parser output that does not match the outline (never expected). */
class MismatchError extends Error {}

/** Converts a JSON object into the normalised tree (a non-empty list of objects is a repeated block). */
function toObject(members: readonly JsonMember[], mapKey: KeyMapper): ConfigObject {
  const entries: ConfigEntry[] = [];
  for (const member of members) {
    const mapped = mapKey(member);
    if (mapped === null) throw new MismatchError("a key of the parser output is not in the outline");
    const { key, line, itemLines } = mapped;
    const v = member[1];
    if (v.t === "array" && v.items.length > 0 && v.items.every((i) => i.t === "object")) {
      v.items.forEach((item, i) => entries.push({ key, value: toNode(item, mapKey), line: itemLines(i) }));
    } else {
      entries.push({ key, value: toNode(v, mapKey), line });
    }
  }
  return { kind: "object", entries };
}

function toNode(v: JsonValue, mapKey: KeyMapper): ConfigNode {
  switch (v.t) {
    case "string":
      return { kind: "string", value: v.value };
    case "number":
      return { kind: "number", text: v.text };
    case "bool":
      return { kind: "bool", value: v.value };
    case "null":
      return { kind: "null" };
    case "array":
      return { kind: "list", items: v.items.map((item) => toNode(item, mapKey)) };
    case "object":
      return toObject(v.members, mapKey);
  }
}

function positioned(line: number, column: number, message: string): string {
  return `${DECODE_PREFIX}: line ${line}, column ${column}: ${message}`;
}

/** Finds `literal` as a whole token in `text` (for errors the Go code reports without a position). */
function locateLiteral(text: string, literal: string): { line: number; column: number } | null {
  let from = 0;
  for (;;) {
    const at = text.indexOf(literal, from);
    if (at < 0) return null;
    const before = at > 0 ? text[at - 1] : "";
    const after = text[at + literal.length] ?? "";
    if (!/[\w.+-]/.test(before) && !/[\w.]/.test(after)) return lineColumnAt(text, at);
    from = at + 1;
  }
}

function hclProblem(text: string, raw: string): string {
  const msg = raw.replace(/\s+$/, "");
  const m = POSITIONED_RE.exec(msg);
  if (m) return positioned(Number(m[1]), Number(m[2]), m[3]);
  const r = RANGE_RE.exec(msg);
  if (r) {
    const where = locateLiteral(text, r[1]);
    const what = `number ${r[1]} is out of range for the HCL parser (integers must be within ±2147483647)`;
    return where ? positioned(where.line, where.column, what) : `${DECODE_PREFIX}: ${what}`;
  }
  return `${DECODE_PREFIX}: ${msg}`;
}

/**
 * Runs the parser. An exception (never expected within the limits) means its runtime may be left half
 * unwound: the parser is made healthy again and the text is tried once more, so a failure can never carry
 * over to this or a later call.
 */
function runHcl(text: string): { ok: true; json: string } | { ok: false; error: string } {
  let out: unknown;
  for (let attempt = 0;; attempt++) {
    const parse = parser.parse;
    if (!parse) return { ok: false, error: `the HCL parser could not be loaded (${parser.error})` };
    try {
      out = parse(text);
      break;
    } catch (err) {
      resetParser();
      if (attempt > 0) {
        return {
          ok: false,
          error: `the HCL parser failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    }
  }
  if (typeof out !== "string") return { ok: false, error: "the HCL parser returned no result" };
  if (out.startsWith(HCL_ERROR_PREFIX)) return { ok: false, error: out.slice(HCL_ERROR_PREFIX.length) };
  if (out.startsWith("unable to ")) return { ok: false, error: out };
  return { ok: true, json: out };
}

/** The name a key gets for the parse: unique, a plain identifier, in source order when sorted. */
const syntheticKey = (i: number): string => `k8s_attestor_key_${String(i).padStart(6, "0")}`;
const SYNTHETIC_RE = /^k8s_attestor_key_(\d{6})$/;
/** The name of an extra top-level item whose value is the unquoted text of quoted key `i`. */
const keyTextItem = (i: number): string => `k8s_attestor_key_text_${String(i).padStart(6, "0")}`;

/** Compares strings by code point (the byte order of UTF-8, which is how Go sorts map keys). */
function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate starts a code point above U+FFFF: it sorts after every other UTF-16 unit.
    const rank = (c: number) => (c >= 0xd800 && c <= 0xdfff ? c + 0x10000 : c);
    return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Sorts entries by key (stable), as hcl v1's map-based output used to list them. */
function sortTree(obj: ConfigObject): ConfigObject {
  const entries = obj.entries
    .map((e, i) => ({ e: { ...e, value: sortNode(e.value) }, i }))
    .sort((a, b) => byCodePoint(a.e.key, b.e.key) || a.i - b.i)
    .map(({ e }) => e);
  return { kind: "object", entries };
}

function sortNode(node: ConfigNode): ConfigNode {
  if (node.kind === "object") return sortTree(node);
  if (node.kind === "list") return { kind: "list", items: node.items.map(sortNode) };
  return node;
}

/** Parses HCL text whose outline is valid: every key renamed, parsed once, mapped back. */
function parseOutlinedHcl(text: string, keys: readonly HclKeyToken[], lines: LineIndex): ParseResult {
  const names: string[] = [];
  const needsText: number[] = [];
  let rewritten = "";
  let from = 0;
  keys.forEach((k, i) => {
    rewritten += text.slice(from, k.start) + (k.quoted ? `"${syntheticKey(i)}"` : syntheticKey(i));
    from = k.end;
    const raw = text.slice(k.start, k.end);
    if (!k.quoted) names.push(raw);
    else if (!/[\\\n\r]/.test(raw)) names.push(raw.slice(1, -1));
    else {
      names.push(""); // filled in from the parser's own unquoting below
      needsText.push(i);
    }
  });
  rewritten += text.slice(from);
  for (const i of needsText) rewritten += `\n${keyTextItem(i)} = ${text.slice(keys[i].start, keys[i].end)}\n`;

  const res = runHcl(rewritten);
  if (!res.ok) {
    // A value the parser rejects: describe it with the positions of the text as written.
    const original = runHcl(text);
    if (!original.ok) return { ok: false, problem: hclProblem(text, original.error) };
    return { ok: false, problem: `${DECODE_PREFIX}: ${res.error}` };
  }
  const tree = readJson(res.json, { maxDepth: 4 * CONFIG_LIMITS.maxDepth + 8 });
  if (!tree.ok || tree.value.t !== "object") {
    return { ok: false, problem: `${DECODE_PREFIX}: unexpected output from the HCL parser` };
  }
  const textItems = new Set(needsText.map(keyTextItem));
  const members: JsonMember[] = [];
  for (const m of tree.value.members) {
    if (!textItems.has(m[0])) {
      members.push(m);
      continue;
    }
    const i = Number(m[0].slice(-6));
    if (m[1].t !== "string") {
      return { ok: false, problem: `${DECODE_PREFIX}: unexpected output from the HCL parser` };
    }
    names[i] = m[1].value;
  }
  const used = new Uint8Array(keys.length);
  let count = 0;
  const mapKey: KeyMapper = ([name]) => {
    const m = SYNTHETIC_RE.exec(name);
    const i = m ? Number(m[1]) : -1;
    if (i < 0 || i >= keys.length || used[i]) return null;
    used[i] = 1;
    count++;
    const k = keys[i];
    const line = lines.lineOf(k.start);
    return {
      key: names[i],
      line,
      itemLines: (j) => (j < k.itemStarts.length ? lines.lineOf(k.itemStarts[j]) : line),
    };
  };
  try {
    const root = toObject(members, mapKey);
    if (count !== keys.length) {
      throw new MismatchError("a key of the outline is missing from the parser output");
    }
    return { ok: true, root: sortTree(root) };
  } catch (err) {
    if (!(err instanceof MismatchError)) throw err;
    return {
      ok: false,
      problem: `${DECODE_PREFIX}: the HCL parser and the key outline disagree (${err.message})`,
    };
  }
}

/** Checks the sizes in a JSON tree against {@linkcode CONFIG_LIMITS} (the reader checks depth and counts). */
function jsonLimitProblem(root: JsonValue, lines: LineIndex): string | null {
  const max = CONFIG_LIMITS.maxTokenBytes;
  const tooLong = (s: string) => s.length * 3 > max && utf8Length(s) > max;
  const problem = (offset: number, what: string, s: string, path: string) => {
    const { line, column } = lines.at(offset);
    const owner = path === "" ? "" : ` (in ${path})`;
    return positioned(
      line,
      column,
      `${what} of ${utf8Length(s)} bytes${owner}; at most ${max} bytes are accepted`,
    );
  };
  // Depth-first in document order, so the first offending position is reported.
  const stack: { v: JsonValue; path: string }[] = [{ v: root, path: "" }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (v.t === "string" && tooLong(v.value)) return problem(v.at, "a string", v.value, path);
    if (v.t === "number" && tooLong(v.text)) return problem(v.at, "a number", v.text, path);
    if (v.t === "array") {
      for (let i = v.items.length - 1; i >= 0; i--) stack.push({ v: v.items[i], path });
    }
    if (v.t === "object") {
      for (const [key, , keyAt] of v.members) if (tooLong(key)) return problem(keyAt, "a key", key, path);
      for (let i = v.members.length - 1; i >= 0; i--) {
        const [key, value] = v.members[i];
        const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
        stack.push({ v: value, path: path === "" ? shown : `${path}.${shown}` });
      }
    }
  }
  return null;
}

/**
 * Parses configuration text into the normalised tree. HCL v1 syntax errors are reported as
 * `unable to decode configuration: line L, column C: <hashicorp/hcl message>`; JSON syntax errors the
 * same way with this module's own message; a text beyond {@linkcode CONFIG_LIMITS} as
 * `unable to decode configuration: line L, column C: <the limit>` before any parser builds anything.
 * Never throws and never touches files.
 *
 * @param text HCL v1 or JSON text; "" (or only whitespace/comments) gives an empty object.
 * @returns The root object, or one problem.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfigText } from "./hcl.ts";
 * const r = parseConfigText('experimental { sigstore { rekor_url = "https://r.example" } }');
 * assert.ok(r.ok && r.root.entries[0].key === "experimental" && r.root.entries[0].line === 1);
 * const twice = parseConfigText("max_poll_attempts = 1\nmax_poll_attempts = 2");
 * assert.ok(twice.ok && twice.root.entries.map((e) => e.line).join() === "1,2");
 * ```
 */
export function parseConfigText(text: string): ParseResult {
  if (isJsonText(text)) {
    const lines = new LineIndex(text);
    const { maxDepth, maxKeys, maxListItems } = CONFIG_LIMITS;
    const r = readJson(text, { maxDepth, maxKeys, maxItems: maxListItems });
    if (!r.ok) {
      return {
        ok: false,
        problem: positioned(r.line, r.column, r.limit ? r.message : `invalid JSON: ${r.message}`),
      };
    }
    if (r.value.t !== "object") return { ok: false, problem: `${DECODE_PREFIX}: the JSON is not an object` };
    const limit = jsonLimitProblem(r.value, lines);
    if (limit !== null) return { ok: false, problem: limit };
    const mapKey: KeyMapper = ([key, value, keyAt]) => ({
      key,
      line: lines.lineOf(keyAt),
      itemLines: (i) =>
        lines.lineOf(value.t === "array" && i < value.items.length ? value.items[i].at : keyAt),
    });
    return { ok: true, root: toObject(r.value.members, mapKey) };
  }
  // hashicorp/hcl turns CRLF into LF before it scans (heredoc anchors depend on it); so does the outline.
  const hcl = text.replaceAll("\r\n", "\n");
  const lines = new LineIndex(hcl); // the same line numbers and columns as `text`
  const outline = outlineHcl(hcl, CONFIG_LIMITS);
  switch (outline.kind) {
    case "ok":
      // Only spaces and comments: nothing to parse.
      if (outline.keys.length === 0) return { ok: true, root: { kind: "object", entries: [] } };
      return parseOutlinedHcl(hcl, outline.keys, lines);
    case "limit": {
      const { line, column } = lines.at(outline.offset);
      return { ok: false, problem: positioned(line, column, outline.message) };
    }
    case "dropped":
    case "syntax": {
      // Within the limits: an error hashicorp/hcl reports is described in its own words; one it lets pass
      // (it drops the value, or it accepts text the grammar here refuses) is refused with ours.
      const res = runHcl(hcl);
      if (!res.ok) return { ok: false, problem: hclProblem(hcl, res.error) };
      const { line, column } = lines.at(outline.offset);
      return { ok: false, problem: positioned(line, column, outline.message) };
    }
  }
}
