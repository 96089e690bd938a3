/**
 * Parses HCL v1 text whose outline (`hcl_outline.ts`) is valid with every key renamed first: hcl v1
 * decodes into a Go map, which would keep only the last of two equal keys and lose their order and
 * lines. Each key gets a unique name for the parse and is mapped back to its spelling and line afterwards.
 *
 * @module
 */

import { type JsonMember, type LineIndex, readJson } from "./json.ts";
import type { HclKeyToken } from "./hcl_outline.ts";
import { type KeyMapper, MismatchError, type ParseResult, sortTree, toObject } from "./tree.ts";
import { CONFIG_LIMITS, DECODE_PREFIX } from "./decode_rules.ts";
import { hclProblem, runHcl } from "./hcl_parser.ts";

/** The name a key gets for the parse: unique, a plain identifier, in source order when sorted. */
const syntheticKey = (i: number): string => `k8s_attestor_key_${String(i).padStart(6, "0")}`;
const SYNTHETIC_RE = /^k8s_attestor_key_(\d{6})$/;
/** The name of an extra top-level item whose value is the unquoted text of quoted key `i`. */
const keyTextItem = (i: number): string => `k8s_attestor_key_text_${String(i).padStart(6, "0")}`;

/**
 * Parses HCL text whose outline is valid: every key renamed, parsed once, mapped back. A value the parser
 * rejects is described with the positions of the text as written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineIndex } from "./json.ts";
 * import { CONFIG_LIMITS } from "./decode_rules.ts";
 * import { outlineHcl } from "./hcl_outline.ts";
 * import { parseOutlinedHcl } from "./hcl_renamed.ts";
 * const text = "a = 1\na = 2";
 * const outline = outlineHcl(text, CONFIG_LIMITS);
 * assert.ok(outline.kind === "ok");
 * const r = parseOutlinedHcl(text, outline.keys, new LineIndex(text));
 * assert.ok(r.ok);
 * assert.deepEqual(r.root.entries.map((e) => [e.key, e.line]), [["a", 1], ["a", 2]]);
 * ```
 *
 * @param text HCL v1 text (CRLF already turned into LF).
 * @param keys Every key of the text, as the outline found them.
 * @param lines The line index of `text`.
 * @returns The tree, sorted by key, or one problem.
 */
export function parseOutlinedHcl(text: string, keys: readonly HclKeyToken[], lines: LineIndex): ParseResult {
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
