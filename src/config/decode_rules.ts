/**
 * What decoding a configuration text promises, whichever parser runs: the bounds every text is held to
 * before any parser builds anything ({@linkcode CONFIG_LIMITS}), and the shape of every decode problem
 * (SPIRE's prefix, then the line and column).
 *
 * @module
 */

import type { HclLimits } from "./hcl_outline.ts";

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

/**
 * Formats a decode problem at a position.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positioned } from "./decode_rules.ts";
 * assert.equal(positioned(2, 5, "oops"), "unable to decode configuration: line 2, column 5: oops");
 * ```
 *
 * @param line The 1-based line.
 * @param column The 1-based column.
 * @param message What is wrong there.
 * @returns The problem text.
 */
export function positioned(line: number, column: number, message: string): string {
  return `${DECODE_PREFIX}: line ${line}, column ${column}: ${message}`;
}
