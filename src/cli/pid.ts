/**
 * The `--pid` argument shared by the diagnosis commands.
 *
 * @module
 */

/**
 * Parses a `--pid` value: a positive decimal 32-bit integer (the range of the gRPC `pid` field), no sign,
 * no leading zeros, no spaces.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePidOption } from "./pid.ts";
 * assert.equal(parsePidOption("4242", (r) => new Error(r)), 4242);
 * ```
 *
 * @param raw The option value, or `undefined` when `--pid` was not given.
 * @param fail Builds the error to throw, from a reason.
 * @returns The PID.
 */
export function parsePidOption(raw: string | undefined, fail: (reason: string) => Error): number {
  if (raw === undefined) throw fail("missing --pid");
  if (!/^[1-9][0-9]{0,9}$/.test(raw) || Number(raw) > 0x7fffffff) {
    throw fail(`--pid must be a positive 32-bit integer, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}
