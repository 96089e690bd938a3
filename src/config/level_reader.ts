/**
 * Typed readers over one {@linkcode Level}: bool, integer, string, path, block, list of strings, port and
 * duration. Each records a problem naming the key and returns undefined when the value is unusable; a key
 * given more than once (already reported) reads as undefined with no further problem.
 *
 * @module
 */

import type { ConfigNode, ConfigObject } from "./tree.ts";
import type { Level } from "./level.ts";
import { describeNode } from "./problem_text.ts";
import { goTimeQuote, parseGoDuration } from "./duration.ts";
import { parseGoInt } from "./go_int.ts";

/** The longest interval a JS timer can wait (2^31-1 ms, about 24.8 days); longer ones would fire at once. */
const MAX_INTERVAL_MS = 2_147_483_647;

/**
 * Typed readers for one level; each records a problem naming the key and returns undefined on error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LevelReader } from "./level_reader.ts";
 * const problems: string[] = [];
 * const r = new LevelReader(new Map([["enforce_sct", { kind: "string", value: "no" }]]), "experimental.sigstore", problems);
 * assert.equal(r.bool("enforce_sct"), undefined);
 * assert.deepEqual(problems, ["experimental.sigstore.enforce_sct: expected a bool (true or false), got a string"]);
 * ```
 */
export class LevelReader {
  /**
   * Reads from `level`, recording problems in `problems`.
   *
   * @param level The known keys of the block.
   * @param path The block's dotted path ("" for the top level), to name keys in problems.
   * @param problems Where problems are added.
   */
  constructor(readonly level: Level, readonly path: string, readonly problems: string[]) {}

  /** The full dotted name of key `name` of this level, for messages. */
  key(name: string): string {
    return this.path === "" ? name : `${this.path}.${name}`;
  }

  /** True when `name` is present (also when given more than once). */
  has(name: string): boolean {
    return this.level.has(name);
  }

  /** Records "expected X, got Y" for `name`; returns undefined. */
  wrongType(name: string, expected: string, node: ConfigNode): undefined {
    this.problems.push(`${this.key(name)}: expected ${expected}, got ${describeNode(node)}`);
    return undefined;
  }

  /** A bool. */
  bool(name: string): boolean | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    if (node.kind === "bool") return node.value;
    return this.wrongType(name, "a bool (true or false)", node);
  }

  /** An int: a number literal or a quoted integer (Go `ParseInt` base 0). */
  int(name: string): bigint | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    if (node.kind === "number") {
      if (/^-?\d+$/.test(node.text)) return BigInt(node.text);
      return this.wrongType(name, "an integer", node);
    }
    if (node.kind === "string") {
      const r = parseGoInt(node.value);
      if (r.ok) return r.value;
      this.problems.push(`${this.key(name)}: expected an integer: ${r.error}`);
      return undefined;
    }
    return this.wrongType(name, "an integer", node);
  }

  /** A string: a string, or an integer literal taken as its text (as HCL v1 does). */
  string(name: string): string | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    if (node.kind === "string") return node.value;
    if (node.kind === "number" && /^-?\d+$/.test(node.text)) return node.text;
    return this.wrongType(name, "a string", node);
  }

  /** A path: a string without NUL characters; "" means unset. */
  path_(name: string): string | undefined {
    const s = this.string(name);
    if (s !== undefined && s.includes("\0")) {
      this.problems.push(`${this.key(name)}: contains a NUL character`);
      return undefined;
    }
    return s;
  }

  /** A block: returns the object, or undefined when absent or of the wrong type. */
  block(name: string): ConfigObject | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    if (node.kind === "object") return node;
    return this.wrongType(name, "a block", node);
  }

  /** A list of non-empty strings. */
  stringList(name: string): string[] | undefined {
    const node = this.level.get(name);
    if (node === undefined || node === null) return undefined;
    return readStringList(node, this.key(name), this.problems);
  }
}

/**
 * Reads a list of non-empty strings, recording a problem for each item that is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readStringList } from "./level_reader.ts";
 * const problems: string[] = [];
 * assert.deepEqual(readStringList({ kind: "list", items: [{ kind: "string", value: "a" }] }, "k", problems), ["a"]);
 * assert.equal(readStringList({ kind: "list", items: [{ kind: "string", value: "" }] }, "k", problems), undefined);
 * assert.deepEqual(problems, ["k[0]: must not be empty"]);
 * ```
 *
 * @param node The value.
 * @param key The key's full name, for messages.
 * @param problems Where problems are added.
 * @returns The strings, or undefined when any item (or the value itself) is wrong.
 */
export function readStringList(node: ConfigNode, key: string, problems: string[]): string[] | undefined {
  if (node.kind !== "list") {
    problems.push(`${key}: expected a list of strings, got ${describeNode(node)}`);
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  node.items.forEach((item, i) => {
    if (item.kind !== "string") {
      problems.push(`${key}[${i}]: expected a string, got ${describeNode(item)}`);
      ok = false;
    } else if (item.value === "") {
      problems.push(`${key}[${i}]: must not be empty`);
      ok = false;
    } else {
      out.push(item.value);
    }
  });
  return ok ? out : undefined;
}

/**
 * Reads a duration key into milliseconds (> 0, at most 2^31-1 ms, the longest a JS timer can wait).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LevelReader, readDuration } from "./level_reader.ts";
 * const r = new LevelReader(new Map([["reload_interval", { kind: "string", value: "1m30s" }]]), "", []);
 * assert.equal(readDuration(r, "reload_interval", "reload interval", 60_000), 90_000);
 * assert.equal(readDuration(r, "poll_retry_interval", "poll retry interval", 500), 500);
 * ```
 *
 * @param r The level.
 * @param name The key.
 * @param label How Go's error messages name it ("reload interval").
 * @param defaultMs The value when the key is absent or "".
 * @returns Milliseconds, or undefined after a problem.
 */
export function readDuration(
  r: LevelReader,
  name: string,
  label: string,
  defaultMs: number,
): number | undefined {
  const text = r.string(name);
  if (text === undefined || text === "") return r.has(name) && text === undefined ? undefined : defaultMs;
  const d = parseGoDuration(text);
  if (!d.ok) {
    r.problems.push(`unable to parse ${label}: ${d.error}`);
    return undefined;
  }
  if (d.nanoseconds <= 0n) {
    r.problems.push(`${name} must be greater than zero, got ${goTimeQuote(text)}`);
    return undefined;
  }
  const ms = Number(d.nanoseconds) / 1e6;
  if (ms > MAX_INTERVAL_MS) {
    r.problems.push(`${name} must be at most 596h31m23.647s, got ${goTimeQuote(text)}`);
    return undefined;
  }
  return ms;
}

/**
 * Reads a TCP port key (1 to 65535).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LevelReader, readPort } from "./level_reader.ts";
 * const problems: string[] = [];
 * const r = new LevelReader(new Map([["kubelet_secure_port", { kind: "number", text: "0" }]]), "", problems);
 * assert.equal(readPort(r, "kubelet_secure_port"), undefined);
 * assert.deepEqual(problems, ["kubelet_secure_port must be between 1 and 65535, got 0"]);
 * ```
 *
 * @param r The level.
 * @param name The key.
 * @returns The port, or undefined when absent or after a problem.
 */
export function readPort(r: LevelReader, name: string): number | undefined {
  const v = r.int(name);
  if (v === undefined) return undefined;
  if (v < 1n || v > 65535n) {
    r.problems.push(`${name} must be between 1 and 65535, got ${v}`);
    return undefined;
  }
  return Number(v);
}
