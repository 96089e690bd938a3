/**
 * The one domain error type of the attestor. Core, platform and kubelet code throw
 * {@linkcode AttestorError} with a {@linkcode ErrorCode}; only `src/plugin/grpc_status.ts` turns a code
 * into a gRPC status. Nothing outside `src/plugin/` imports gRPC.
 *
 * @module
 */

/**
 * Why an operation failed, in the vocabulary of gRPC status codes (spelled as gRPC's canonical names so the
 * mapping is obvious), without depending on gRPC.
 */
export type ErrorCode =
  | "CANCELLED"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "PERMISSION_DENIED"
  | "FAILED_PRECONDITION"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE";

/**
 * An error with a domain code. The message is meant for operators: it names the input that was wrong
 * (file, line, key, URL) and never contains a secret.
 *
 * @example Throwing and recognising one
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttestorError } from "./errors.ts";
 * const err = new AttestorError("NOT_FOUND", "process 42 does not exist");
 * assert.ok(err instanceof Error);
 * assert.equal(err.code, "NOT_FOUND");
 * ```
 */
export class AttestorError extends Error {
  /** The domain code, mapped to a gRPC status at the plugin edge. */
  readonly code: ErrorCode;

  /**
   * @param code The domain code.
   * @param message Operator-facing text: what failed and which input caused it.
   * @param options Standard error options (`cause`).
   */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AttestorError";
    this.code = code;
  }
}

/**
 * Returns `err` when it is already an {@linkcode AttestorError}, otherwise wraps it with `code` and a
 * `prefix: message` text. Use at boundaries where unknown exceptions may surface.
 *
 * @param err Anything that was thrown.
 * @param code The code for errors that carry none.
 * @param prefix Context prepended to the original message.
 * @returns An {@linkcode AttestorError}.
 */
export function toAttestorError(err: unknown, code: ErrorCode, prefix?: string): AttestorError {
  if (err instanceof AttestorError) return err;
  const text = errorMessage(err);
  return new AttestorError(code, prefix ? `${prefix}: ${text}` : text, { cause: err });
}

/**
 * The text of anything thrown: an error's `message`, else the value as a string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorMessage } from "./errors.ts";
 * assert.equal(errorMessage(new TypeError("bad")), "bad");
 * assert.equal(errorMessage(42), "42");
 * ```
 *
 * @param err Anything that was thrown.
 * @returns Its text.
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Log fields for an unexpected error: its text (see {@linkcode errorMessage}) and, for an `Error`, its stack.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeError } from "./errors.ts";
 * assert.deepEqual(describeError("gone"), { error: "gone" });
 * assert.equal(describeError(new Error("boom")).error, "boom");
 * ```
 *
 * @param err Anything that was thrown.
 * @returns `{ error, stack? }`.
 */
export function describeError(err: unknown): { error: string; stack?: string } {
  if (err instanceof Error) return { error: err.message, stack: err.stack };
  return { error: String(err) };
}
