/**
 * The protocol edge: the one place where domain errors become gRPC statuses. Every handler in
 * `src/plugin/server.ts` reports failures through {@linkcode toServiceError}, so the mapping from
 * {@linkcode ErrorReason} to a gRPC code (one table, below) and the sanitising of the status message live
 * here only. No other module knows gRPC codes.
 *
 * @module
 */

import { clipText, MAX_ECHO_BYTES, utf8Length } from "../clip.ts";
import { AttestorError, type ErrorReason } from "../errors.ts";

/**
 * The gRPC status codes (the gRPC spec's `statuscodes.md`; the same numbers as grpc-js' and grpc-go's).
 * The plugin's own transport (`src/plugin/h2/`) needs them without loading a gRPC library.
 */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code. */
export type GrpcCodeValue = (typeof GrpcCode)[keyof typeof GrpcCode];

const status = GrpcCode;
type status = GrpcCodeValue;

/** The name of a gRPC status code (`"NOT_FOUND"`), for log lines. */
export function grpcCodeName(code: number): string {
  return Object.entries(GrpcCode).find(([, c]) => c === code)?.[0] ?? String(code);
}

/** A status error as a handler's outcome: what the host receives (code and message). */
export interface ServiceError extends Error {
  /** The gRPC status code. */
  code: number;
  /** The status message as sent (printable ASCII). */
  details: string;
}

/**
 * The gRPC code of each domain reason: what spire-agent receives. The codes are upstream's for the same
 * failures (the agent and its operators know them), so a reason's code must not change.
 */
const GRPC_CODE: Readonly<Record<ErrorReason, status>> = {
  "bad-request": status.INVALID_ARGUMENT,
  "bad-config": status.INVALID_ARGUMENT,
  "not-configured": status.FAILED_PRECONDITION,
  "platform-unavailable": status.FAILED_PRECONDITION,
  "process-changed": status.FAILED_PRECONDITION,
  "id-conflict": status.FAILED_PRECONDITION,
  "owner-mismatch": status.FAILED_PRECONDITION,
  "process-gone": status.NOT_FOUND,
  "unknown-service": status.NOT_FOUND,
  "outside-pod-cgroups": status.PERMISSION_DENIED,
  "ephemeral-container": status.PERMISSION_DENIED,
  "os-denied": status.PERMISSION_DENIED,
  "pod-list-ambiguous": status.INTERNAL,
  "multiple-jobs": status.INTERNAL,
  "malformed-input": status.INTERNAL,
  "os-failed": status.INTERNAL,
  "process-unverifiable": status.INTERNAL,
  "internal": status.INTERNAL,
  "shutting-down": status.UNAVAILABLE,
  "reconfigured": status.UNAVAILABLE,
  "fetcher-closed": status.UNAVAILABLE,
  "kubelet-unreachable": status.UNAVAILABLE,
  "kubelet-rejected": status.UNAVAILABLE,
  "kubelet-bad-response": status.UNAVAILABLE,
  "pod-list-failed": status.UNAVAILABLE,
  "pod-decode-failed": status.UNAVAILABLE,
  "listen-failed": status.UNAVAILABLE,
  "pod-not-listed": status.DEADLINE_EXCEEDED,
  "deadline-exceeded": status.DEADLINE_EXCEEDED,
  "cancelled": status.CANCELLED,
  "unsupported": status.UNIMPLEMENTED,
  "registry-failed": status.INTERNAL,
  "signature-unverified": status.INTERNAL,
  "apiserver-failed": status.INTERNAL,
  "object-not-found": status.NOT_FOUND,
  "broker-denied": status.PERMISSION_DENIED,
  "kubelet-disabled": status.FAILED_PRECONDITION,
};

/** Longest status message sent, in characters (all ASCII, so also bytes); longer text is clipped. */
const MAX_MESSAGE_LENGTH = MAX_ECHO_BYTES;

/**
 * Maps a domain reason to its gRPC status code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grpcCodeOf } from "./grpc_status.ts";
 * assert.equal(grpcCodeOf("bad-config"), 3); // INVALID_ARGUMENT
 * assert.equal(grpcCodeOf("fetcher-closed"), 14); // UNAVAILABLE
 * ```
 *
 * @param reason The domain reason.
 * @returns The gRPC status code.
 */
export function grpcCodeOf(reason: ErrorReason): status {
  return GRPC_CODE[reason];
}

/**
 * Makes a status message plain for the `grpc-message` header: anything outside printable ASCII (CR/LF,
 * control characters, non-ASCII) is replaced, so the percent-encoding on the wire
 * (`src/plugin/h2/grpc_headers.ts`) only ever escapes `%`. Newlines become `"; "` so multi-problem messages
 * stay readable on one line. Text longer than 4096 characters is clipped, ending in
 * `...(truncated, N bytes)` with N the UTF-8 length of the original message. This is the edge where every
 * status message is bounded (handlers throw messages as they are).
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
 * Turns anything thrown by a handler into a {@linkcode ServiceError}. An {@linkcode AttestorError} gets the
 * code of its reason ({@linkcode grpcCodeOf}) and keeps its message (made header-safe by
 * {@linkcode asciiStatusMessage}); anything else becomes `INTERNAL` with a fixed text (its details are for
 * the log, not for the host).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toServiceError } from "./grpc_status.ts";
 * import { AttestorError } from "../errors.ts";
 * const e = toServiceError(new AttestorError("process-gone", "process 42 does not exist"));
 * assert.equal(e.code, 5); // NOT_FOUND
 * assert.equal(e.details, "process 42 does not exist");
 * ```
 *
 * @param err What was thrown.
 * @returns The status error the call ends with.
 */
export function toServiceError(err: unknown): ServiceError {
  const code = err instanceof AttestorError ? GRPC_CODE[err.reason] : status.INTERNAL;
  const details = err instanceof AttestorError
    ? asciiStatusMessage(err.message)
    : "internal error (details are in the plugin log)";
  const error = new Error(details) as ServiceError;
  error.code = code;
  error.details = details;
  return error;
}
