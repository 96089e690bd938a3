/**
 * The normalised configuration tree that HCL v1 and JSON text both turn into: one {@linkcode ConfigEntry}
 * per occurrence of a key, with its line, so a key given twice is simply a key that occurs twice. Built
 * here from the JSON the parsers produce (a non-empty list of objects is a repeated block, as hcl v1 writes
 * it), and sorted by key as hcl v1's map-based output listed it.
 *
 * @module
 */

import type { JsonMember, JsonValue } from "./json.ts";

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
  /** Always "object". */
  readonly kind: "object";
  /** The entries, in the order of the tree (see {@linkcode sortTree}). */
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

/** The outcome of parsing configuration text into the tree. */
export type ParseResult =
  | { readonly ok: true; readonly root: ConfigObject }
  | { readonly ok: false; readonly problem: string };

/**
 * Maps each member's key (and line) for {@linkcode toObject}; null when the member cannot be mapped.
 * `itemLines(i)` is the line of item `i` when the value is a list of objects (a repeated block).
 */
export type KeyMapper = (
  member: JsonMember,
) => { key: string; line: number; itemLines: (i: number) => number } | null;

/** Thrown while converting parser output that does not match the outline (never expected). */
export class MismatchError extends Error {}

/**
 * Converts a JSON object into the normalised tree (a non-empty list of objects is a repeated block).
 * Throws {@linkcode MismatchError} when `mapKey` cannot map a member.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readJson } from "./json.ts";
 * import { toObject } from "./tree.ts";
 * const json = readJson('{"b": [{"c": 1}, {"c": 2}]}');
 * assert.ok(json.ok && json.value.t === "object");
 * const root = toObject(json.value.members, ([key]) => ({ key, line: 1, itemLines: (i) => 2 + i }));
 * assert.deepEqual(root.entries.map((e) => [e.key, e.line]), [["b", 2], ["b", 3]]);
 * ```
 *
 * @param members The object's members.
 * @param mapKey Gives each member's key as written and its line.
 * @returns The object.
 */
export function toObject(members: readonly JsonMember[], mapKey: KeyMapper): ConfigObject {
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

/**
 * Sorts entries by key (stable), as hcl v1's map-based output used to list them, at every level.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sortTree } from "./tree.ts";
 * const value = { kind: "null" } as const;
 * const sorted = sortTree({ kind: "object", entries: [{ key: "b", value, line: 1 }, { key: "a", value, line: 2 }] });
 * assert.deepEqual(sorted.entries.map((e) => e.key), ["a", "b"]);
 * ```
 *
 * @param obj The object.
 * @returns A sorted copy.
 */
export function sortTree(obj: ConfigObject): ConfigObject {
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
