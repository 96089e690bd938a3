/**
 * Assertions on the attestor's domain error: the type, the reason and the operator-facing message, checked
 * together so that no test forgets one of them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AttestorError, type ErrorReason } from "../errors.ts";

/**
 * Asserts that `err` is an {@linkcode AttestorError} with `reason` and a message equal to `message` (a
 * string) or matching it (a RegExp).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttestorError } from "../errors.ts";
 * import { assertAttestorError } from "./assert_error.ts";
 * const gone = new AttestorError("process-gone", "process 7 does not exist");
 * assertAttestorError(gone, "process-gone", /process 7/);
 * assert.throws(() => assertAttestorError(new Error("x"), "internal", "x"), /expected an AttestorError/);
 * ```
 *
 * @param err What was thrown.
 * @param reason The expected reason.
 * @param message The expected message, or a pattern it must match.
 * @throws {assert.AssertionError} When any of the three differs.
 */
export function assertAttestorError(
  err: unknown,
  reason: ErrorReason,
  message: string | RegExp,
): asserts err is AttestorError {
  assert.ok(err instanceof AttestorError, `expected an AttestorError, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  if (typeof message === "string") assert.equal(err.message, message);
  else assert.match(err.message, message);
}

/**
 * Asserts that `promise` rejects with an {@linkcode AttestorError} as {@linkcode assertAttestorError}
 * checks it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttestorError } from "../errors.ts";
 * import { rejectsWithAttestorError } from "./assert_error.ts";
 * const cancelled = () => Promise.reject(new AttestorError("cancelled", "gone"));
 * await rejectsWithAttestorError(cancelled(), "cancelled", "gone");
 * await assert.rejects(rejectsWithAttestorError(cancelled(), "internal", "gone"), assert.AssertionError);
 * ```
 *
 * @param promise The operation.
 * @param reason The expected reason.
 * @param message The expected message, or a pattern it must match.
 */
export async function rejectsWithAttestorError(
  promise: Promise<unknown>,
  reason: ErrorReason,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assertAttestorError(err, reason, message);
    return true;
  });
}
