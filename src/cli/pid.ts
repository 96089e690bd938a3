/**
 * The arguments shared by the diagnosis commands (`locate`, `attest`): strict parsing, `--pid` and
 * `--proc-root`.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { errorMessage } from "../errors.ts";

/** The options every diagnosis command takes, to spread into its own option table. */
export const SHARED_OPTIONS = {
  pid: { type: "string" },
  "proc-root": { type: "string" },
} as const;

/**
 * Parses `args` strictly (no positionals, no unknown options) with `options`, turning a parse error into
 * `fail(message)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseStrict, SHARED_OPTIONS } from "./pid.ts";
 * const values = parseStrict(["--pid", "7"], { ...SHARED_OPTIONS }, (r) => new Error(r));
 * assert.equal(values.pid, "7");
 * assert.throws(() => parseStrict(["--bogus"], { ...SHARED_OPTIONS }, (r) => new Error(r)), /bogus/);
 * ```
 *
 * @param args The command's arguments.
 * @param options The option table (include {@linkcode SHARED_OPTIONS}).
 * @param fail Builds the error to throw, from a reason.
 * @returns The parsed values.
 */
export function parseStrict<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
  fail: (reason: string) => Error,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>["values"] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw fail(errorMessage(err));
  }
}

/**
 * The `--proc-root` value: `/` when absent, never empty.
 *
 * @param raw The option value.
 * @param fail Builds the error to throw, from a reason.
 * @returns The directory holding `proc/`.
 */
export function parseProcRootOption(raw: string | undefined, fail: (reason: string) => Error): string {
  if (raw === "") throw fail("--proc-root must not be empty");
  return raw ?? "/";
}

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
