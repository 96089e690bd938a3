/**
 * How configuration problems show what they are about: a value's type, a user's value (quoted and
 * shortened), a list of words, and the lines of a key given more than once.
 *
 * @module
 */

import type { ConfigEntry, ConfigNode } from "./tree.ts";

/**
 * Describes a node's type for "expected X, got Y" messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeNode } from "./problem_text.ts";
 * assert.equal(describeNode({ kind: "number", text: "1.5" }), "a non-integer number (1.5)");
 * assert.equal(describeNode({ kind: "object", entries: [] }), "a block");
 * ```
 *
 * @param node The value.
 * @returns Its type in words, with an article.
 */
export function describeNode(node: ConfigNode): string {
  switch (node.kind) {
    case "string":
      return "a string";
    case "number":
      return /^-?\d+$/.test(node.text) ? "an integer" : `a non-integer number (${node.text})`;
    case "bool":
      return "a bool";
    case "null":
      return "null";
    case "list":
      return "a list";
    case "object":
      return "a block";
  }
}

/**
 * Quotes a user value for a message (JSON style, shortened).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quoteValue } from "./problem_text.ts";
 * assert.equal(quoteValue("a\nb"), '"a\\nb"');
 * assert.equal(quoteValue("x".repeat(200)), JSON.stringify(`${"x".repeat(100)}...`));
 * ```
 *
 * @param s The value.
 * @returns At most its first 100 UTF-16 units, as a JSON string.
 */
export function quoteValue(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);
}

/**
 * Joins `["a", "b", "c"]` as "a, b and c".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listWords } from "./problem_text.ts";
 * assert.equal(listWords(["a", "b", "c"]), "a, b and c");
 * assert.equal(listWords(["a"]), "a");
 * ```
 *
 * @param words The words.
 * @returns The words joined.
 */
export function listWords(words: readonly string[]): string {
  return words.length <= 1 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/**
 * Describes where a key given more than once occurs: its lines, and each spelling that differs from
 * `canonical` (keys are case-insensitive, so `TOKEN_PATH` is `token_path` given again).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { occurrences } from "./problem_text.ts";
 * const value = { kind: "null" } as const;
 * const entries = [{ key: "TOKEN_PATH", value, line: 2 }, { key: "token_path", value, line: 1 }];
 * assert.equal(occurrences(entries, "token_path"), '(line 1 and line 2 as "TOKEN_PATH")');
 * ```
 *
 * @param entries Every occurrence of the key.
 * @param canonical The key's name as known.
 * @returns The first five lines (and how many more), in parentheses.
 */
export function occurrences(entries: readonly ConfigEntry[], canonical: string): string {
  const byLine = [...entries].sort((a, b) => a.line - b.line);
  const shown = byLine.slice(0, 5).map((e) => {
    const spelled = e.key === canonical ? "" : ` as ${quoteValue(e.key)}`;
    return `line ${e.line}${spelled}`;
  });
  if (entries.length > shown.length) shown.push(`${entries.length - shown.length} more`);
  return `(${listWords(shown)})`;
}
