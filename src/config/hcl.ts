/**
 * Turns `plugin_data` text (HCL v1, or JSON when the first non-space character is `{`, exactly like
 * Go's `hcl.Decode`) into one normalised tree. HCL v1 is parsed by the real hashicorp/hcl v1 code
 * (`js-hcl-parser`, a GopherJS build). HCL v1's generic tree writes both blocks and `x = {...}` objects
 * as `[{...}]` and a repeated block as `[{...}, {...}]`; the normalised tree instead lists one
 * {@linkcode ConfigEntry} per occurrence, so a repeated block is simply a key that occurs twice.
 *
 * @module
 */

import { type JsonValue, lineColumnAt, readJson } from "./json.ts";

/** A value in the normalised configuration tree. Numbers keep their literal text. */
export type ConfigNode =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly text: string }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "null" }
  | { readonly kind: "list"; readonly items: readonly ConfigNode[] }
  | ConfigObject;

/** A block or object: its entries in order, one per occurrence of a key (repeats are kept). */
export interface ConfigObject {
  readonly kind: "object";
  readonly entries: readonly ConfigEntry[];
}

/** One `key = value` (or `key { ... }`) occurrence. */
export interface ConfigEntry {
  readonly key: string;
  readonly value: ConfigNode;
}

/** The outcome of {@linkcode parseConfigText}. */
export type ParseResult =
  | { readonly ok: true; readonly root: ConfigObject }
  | { readonly ok: false; readonly problem: string };

/** The prefix of every parse problem (SPIRE's own wording, so operators can grep for it). */
export const DECODE_PREFIX = "unable to decode configuration";

type HclParse = (text: string) => string;

/** The GopherJS parser, loaded once. Its Go runtime reads the environment, so it needs env permission. */
const loaded: { parse: HclParse | null; error: string } = await (async () => {
  const stackLimit = Error.stackTraceLimit; // the GopherJS prelude sets it to Infinity process-wide
  try {
    const mod = await import("js-hcl-parser");
    const parse = (mod.default ?? mod)?.parse;
    if (typeof parse !== "function") return { parse: null, error: "js-hcl-parser has no parse function" };
    return { parse: parse as HclParse, error: "" };
  } catch (err) {
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { parse: null, error: detail.split("\n")[0] };
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
})();

/** The error prefix of js-hcl-parser's `parse` (its Go code formats errors into the returned string). */
const HCL_ERROR_PREFIX = "unable to parse JSON: ";
const POSITIONED_RE = /^At (\d+):(\d+): ([\s\S]*)$/;
const RANGE_RE = /^strconv\.Parse(?:Int|Float): parsing "([^"]*)": value out of range$/;
/** A key appended to check that nothing was dropped at the end of the input (HCL v1 drops `k =` at EOF). */
const END_SENTINEL = "k8s_attestor_end_of_input_sentinel_7f3a";

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

/** Converts a JSON object into the normalised tree (a non-empty list of objects is a repeated block). */
function toObject(members: readonly (readonly [string, JsonValue])[]): ConfigObject {
  const entries: ConfigEntry[] = [];
  for (const [key, v] of members) {
    if (v.t === "array" && v.items.length > 0 && v.items.every((i) => i.t === "object")) {
      for (const item of v.items) entries.push({ key, value: toNode(item) });
    } else {
      entries.push({ key, value: toNode(v) });
    }
  }
  return { kind: "object", entries };
}

function toNode(v: JsonValue): ConfigNode {
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
      return { kind: "list", items: v.items.map(toNode) };
    case "object":
      return toObject(v.members);
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

function runHcl(parse: HclParse, text: string): { ok: true; json: string } | { ok: false; error: string } {
  let out: unknown;
  try {
    out = parse(text);
  } catch (err) {
    return { ok: false, error: `the HCL parser failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof out !== "string") return { ok: false, error: "the HCL parser returned no result" };
  if (out.startsWith(HCL_ERROR_PREFIX)) return { ok: false, error: out.slice(HCL_ERROR_PREFIX.length) };
  if (out.startsWith("unable to ")) return { ok: false, error: out };
  return { ok: true, json: out };
}

/**
 * Parses configuration text into the normalised tree. HCL v1 syntax errors are reported as
 * `unable to decode configuration: line L, column C: <hashicorp/hcl message>`; JSON syntax errors the
 * same way with this module's own message. Never throws and never touches files.
 *
 * @param text HCL v1 or JSON text; "" (or only whitespace/comments) gives an empty object.
 * @returns The root object, or one problem.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfigText } from "./hcl.ts";
 * const r = parseConfigText('experimental { sigstore { rekor_url = "https://r.example" } }');
 * assert.ok(r.ok);
 * assert.equal(r.root.entries[0].key, "experimental");
 * ```
 */
export function parseConfigText(text: string): ParseResult {
  if (isJsonText(text)) {
    const r = readJson(text);
    if (!r.ok) return { ok: false, problem: positioned(r.line, r.column, `invalid JSON: ${r.message}`) };
    if (r.value.t !== "object") return { ok: false, problem: `${DECODE_PREFIX}: the JSON is not an object` };
    return { ok: true, root: toObject(r.value.members) };
  }
  if (text.trim() === "") return { ok: true, root: { kind: "object", entries: [] } };
  if (!loaded.parse) {
    return {
      ok: false,
      problem: `${DECODE_PREFIX}: the HCL parser could not be loaded (${loaded.error})`,
    };
  }
  const res = runHcl(loaded.parse, text);
  if (!res.ok) return { ok: false, problem: hclProblem(text, res.error) };
  // HCL v1 silently drops a trailing `key =` with no value; parse again with a sentinel item appended
  // and insist that it survives.
  const check = runHcl(loaded.parse, `${text}\n${END_SENTINEL} = 1\n`);
  if (!check.ok || !check.json.includes(`"${END_SENTINEL}"`)) {
    const at = text.lastIndexOf("=");
    const where = lineColumnAt(text, at < 0 ? text.length : at);
    return {
      ok: false,
      problem: positioned(where.line, where.column, "expected a value after '=', found the end of the input"),
    };
  }
  const tree = readJson(res.json);
  if (!tree.ok || tree.value.t !== "object") {
    return { ok: false, problem: `${DECODE_PREFIX}: unexpected output from the HCL parser` };
  }
  return { ok: true, root: toObject(tree.value.members) };
}
