/**
 * Reads one block level of the configuration tree against the known keys (`keys.ts`): unknown keys and
 * keys given more than once become problems; every other known key keeps its one value.
 *
 * @module
 */

import type { ConfigEntry, ConfigNode, ConfigObject } from "./tree.ts";
import { childKeys, CONFIG_KEYS } from "./keys.ts";
import { occurrences } from "./problem_text.ts";
import { clipText } from "../clip.ts";

/** The most unknown keys named in the "unknown configurations detected" problem of one block. */
export const MAX_REPORTED_KEYS = 20;
/** Where a key name is shown inside a problem, it is clipped to this many UTF-8 bytes. */
const KEY_ECHO_BYTES = 128;

/**
 * The keys found in one block: known keys (lowercased) → their single value, or null for a key given more
 * than once (present, but already reported: its readers give undefined and report nothing more).
 */
export type Level = Map<string, ConfigNode | null>;

/**
 * Reads one block level: reports unknown keys (sorted, as written; the first {@linkcode MAX_REPORTED_KEYS})
 * and keys given more than once in any spelling (keys are case-insensitive), naming every line, and
 * returns the value of every known key given exactly once. A key of type `list(block)` may be given more
 * than once (`brokers { } brokers { }`, as hcl v1 decodes a slice): its value is the list of every
 * occurrence's objects.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readLevel } from "./level.ts";
 * const value = { kind: "bool", value: true } as const;
 * const problems: string[] = [];
 * const level = readLevel({ kind: "object", entries: [{ key: "Enforce_SCT", value, line: 1 }, { key: "x", value, line: 2 }] }, "experimental.sigstore", problems);
 * assert.deepEqual([...level], [["enforce_sct", value]]);
 * assert.deepEqual(problems, ["unknown configurations detected in experimental.sigstore: x"]);
 * ```
 *
 * @param obj The block.
 * @param path The block's dotted path ("" for the top level), as `keys.ts` names it.
 * @param problems Where problems are added.
 * @returns The known keys found.
 */
export function readLevel(obj: ConfigObject, path: string, problems: string[]): Level {
  const known = new Set(childKeys(path));
  const seen = new Map<string, ConfigEntry[]>();
  const unknown = new Set<string>();
  for (const entry of obj.entries) {
    const lower = entry.key.toLowerCase();
    if (!known.has(lower)) {
      unknown.add(entry.key);
      continue;
    }
    const list = seen.get(lower) ?? [];
    list.push(entry);
    seen.set(lower, list);
  }
  if (unknown.size > 0) {
    const sorted = [...unknown].sort();
    const shown = sorted.slice(0, MAX_REPORTED_KEYS).map((k) => clipText(k, KEY_ECHO_BYTES)).join(",");
    const more = sorted.length > MAX_REPORTED_KEYS ? ` and ${sorted.length - MAX_REPORTED_KEYS} more` : "";
    problems.push(
      path === ""
        ? `unknown configurations detected: ${shown}${more}`
        : `unknown configurations detected in ${path}: ${shown}${more}`,
    );
  }
  const level: Level = new Map();
  const prefix = path === "" ? "" : `${path}.`;
  for (const name of known) {
    const entries = seen.get(name);
    if (!entries) continue;
    if (CONFIG_KEYS.some((k) => k.name === prefix + name && k.type === "list(block)")) {
      // A list of blocks: `k = [{...}, {...}]` (the tree keeps one entry per object) or repeated `k { }`.
      const items = entries.flatMap((e) => e.value.kind === "list" ? e.value.items : [e.value]);
      level.set(name, { kind: "list", items });
      continue;
    }
    if (entries.length > 1) {
      problems.push(
        `${path === "" ? "" : `${path}.`}${name} is set more than once ${occurrences(entries, name)}`,
      );
      level.set(name, null);
      continue;
    }
    level.set(name, entries[0].value);
  }
  return level;
}
