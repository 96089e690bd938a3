/**
 * The one place where domain errors become gRPC statuses. Every handler in `src/plugin/server.ts` reports
 * failures through {@linkcode toServiceError}, so the mapping from {@linkcode ErrorCode} to a gRPC code and
 * the sanitising of the status message live here only.
 *
 * @module
 */

import { Metadata, status } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";
import { clipText, MAX_ECHO_BYTES, utf8Length } from "../clip.ts";
import { AttestorError, type ErrorCode } from "../errors.ts";

/** gRPC code for each domain code. */
const CODE_MAP: Readonly<Record<ErrorCode, status>> = {
  CANCELLED: status.CANCELLED,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  NOT_FOUND: status.NOT_FOUND,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  INTERNAL: status.INTERNAL,
  UNAVAILABLE: status.UNAVAILABLE,
};

/** Longest status message sent, in characters (all ASCII, so also bytes); longer text is clipped. */
const MAX_MESSAGE_LENGTH = MAX_ECHO_BYTES;

/**
 * Maps a domain code to its gRPC status code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grpcCodeOf } from "./grpc_status.ts";
 * assert.equal(grpcCodeOf("INVALID_ARGUMENT"), 3);
 * ```
 *
 * @param code The domain code.
 * @returns The gRPC status code.
 */
export function grpcCodeOf(code: ErrorCode): status {
  return CODE_MAP[code];
}

/**
 * Makes a status message safe for the `grpc-message` header: grpc-js sends it without percent-encoding,
 * so anything outside printable ASCII (and CR/LF, which are invalid in an HTTP/2 header value for grpc-go)
 * is replaced. Newlines become `"; "` so multi-problem messages stay readable on one line. Text longer than
 * 4096 characters is clipped, ending in `...(truncated, N bytes)` with N the UTF-8 length of the original
 * message. This is the edge where every status message is bounded (handlers throw messages as they are).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asciiStatusMessage } from "./grpc_status.ts";
 * assert.equal(asciiStatusMessage("a\nb é"), "a; b ?");
 * assert.ok(asciiStatusMessage("k".repeat(20_000)).endsWith("...(truncated, 20000 bytes)"));
 * ```
 *
 * @param message Any text.
 * @returns Printable ASCII, at most 4096 characters.
 */
export function asciiStatusMessage(message: string): string {
  const oneLine = message.replace(/\r?\n/g, "; ");
  const ascii = oneLine.replace(/[^\x20-\x7e]/g, "?");
  if (ascii.length <= MAX_MESSAGE_LENGTH) return ascii;
  const marker = `...(truncated, ${utf8Length(message)} bytes)`;
  return ascii.slice(0, MAX_MESSAGE_LENGTH - marker.length) + marker;
}

/**
 * Bounds the notes of a Validate answer: each note is clipped to 4 KiB (UTF-8) with its original length
 * stated. The notes are proto strings (UTF-8), so they keep their characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateNotes } from "./grpc_status.ts";
 * assert.deepEqual(validateNotes(["a"]), ["a"]);
 * assert.ok(validateNotes(["n".repeat(10_000)])[0].endsWith("…(truncated, 10000 bytes)"));
 * ```
 *
 * @param notes The problems found by Validate.
 * @returns The notes as sent.
 */
export function validateNotes(notes: readonly string[]): string[] {
  return notes.map((note) => clipText(note));
}

/**
 * Turns anything thrown by a handler into a grpc-js `ServiceError`. An {@linkcode AttestorError} keeps
 * its code and message; anything else becomes `INTERNAL` with a fixed text (its details are
 * for the log, not for the host).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toServiceError } from "./grpc_status.ts";
 * import { AttestorError } from "../errors.ts";
 * const e = toServiceError(new AttestorError("NOT_FOUND", "process 42 does not exist"));
 * assert.equal(e.code, 5);
 * assert.equal(e.details, "process 42 does not exist");
 * ```
 *
 * @param err What was thrown.
 * @returns A status error for the grpc-js callback or `call.destroy`.
 */
export function toServiceError(err: unknown): ServiceError {
  const code = err instanceof AttestorError ? CODE_MAP[err.code] : status.INTERNAL;
  const details = err instanceof AttestorError
    ? asciiStatusMessage(err.message)
    : "internal error (details are in the plugin log)";
  const error = new Error(details) as ServiceError;
  error.code = code;
  error.details = details;
  error.metadata = new Metadata();
  return error;
}
