/**
 * Turns `plugin_data` text (HCL v1, or JSON when the first non-space character is `{`, exactly like
 * Go's `hcl.Decode`) into one normalised tree (`tree.ts`). HCL v1 is parsed by the real hashicorp/hcl v1
 * code (`js-hcl-parser`, a GopherJS build, run by `hcl_parser.ts`). HCL v1's generic tree writes both
 * blocks and `x = {...}` objects as `[{...}]` and a repeated block as `[{...}, {...}]`; the normalised tree
 * instead lists one {@linkcode ConfigEntry} per occurrence, with its line, so a key given twice is simply a
 * key that occurs twice.
 *
 * Before the real parser runs, `hcl_outline.ts` checks {@linkcode CONFIG_LIMITS} and finds every key; each
 * key is then given a unique name for the parse (`hcl_renamed.ts`: hcl v1 decodes into a Go map, which would
 * keep only the last of two equal keys) and mapped back to its spelling and line afterwards. JSON text is
 * read by `json.ts` under the same limits.
 *
 * @module
 */

import { type JsonValue, LineIndex, readJson } from "./json.ts";
import { outlineHcl } from "./hcl_outline.ts";
import { type KeyMapper, type ParseResult, toObject } from "./tree.ts";
import { CONFIG_LIMITS, DECODE_PREFIX, positioned } from "./decode_rules.ts";
import { hclProblem, runHcl } from "./hcl_parser.ts";
import { parseOutlinedHcl } from "./hcl_renamed.ts";
import { utf8Length } from "../clip.ts";

export type { ConfigEntry, ConfigNode, ConfigObject, ParseResult } from "./tree.ts";
export { CONFIG_LIMITS, DECODE_PREFIX } from "./decode_rules.ts";
export { restoreGopherJsParse } from "./hcl_parser.ts";

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
