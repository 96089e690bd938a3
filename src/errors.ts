/**
 * The one domain error type of the attestor. Core, platform, kubelet and CLI code throw
 * {@linkcode AttestorError} with an {@linkcode ErrorReason}, which says what went wrong in the attestor's
 * own terms; only `src/plugin/grpc_status.ts` turns a reason into a gRPC status. Nothing outside
 * `src/plugin/` imports gRPC or knows its codes.
 *
 * @module
 */

/**
 * Every {@linkcode ErrorReason}, in the order of its documentation (for tables and tests that must cover
 * them all).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ERROR_REASONS } from "./errors.ts";
 * assert.ok(ERROR_REASONS.includes("fetcher-closed"));
 * ```
 */
export const ERROR_REASONS = [
  "bad-request",
  "bad-config",
  "not-configured",
  "platform-unavailable",
  "process-changed",
  "id-conflict",
  "owner-mismatch",
  "process-gone",
  "unknown-service",
  "outside-pod-cgroups",
  "ephemeral-container",
  "os-denied",
  "pod-list-ambiguous",
  "multiple-jobs",
  "malformed-input",
  "os-failed",
  "process-unverifiable",
  "internal",
  "shutting-down",
  "reconfigured",
  "fetcher-closed",
  "kubelet-unreachable",
  "kubelet-rejected",
  "kubelet-bad-response",
  "pod-list-failed",
  "pod-decode-failed",
  "listen-failed",
  "pod-not-listed",
  "deadline-exceeded",
  "cancelled",
  "unsupported",
  "registry-failed",
  "signature-unverified",
  "apiserver-failed",
  "object-not-found",
  "broker-denied",
  "kubelet-disabled",
] as const;

/**
 * Why an operation failed, in the attestor's own terms. Each reason has one gRPC status at the protocol
 * edge (`src/plugin/grpc_status.ts`; shown here in parentheses for the operator who sees it on the wire).
 *
 * - `bad-request` (INVALID_ARGUMENT): a caller's argument is invalid. Thrown by the locators (a PID that is
 *   not a positive integer), the `locate` and `attest` commands (their arguments), the pod-list fetcher (a
 *   version it never handed out).
 * - `bad-config` (INVALID_ARGUMENT): the configuration is invalid or cannot be used. Thrown by Configure
 *   (every problem of `plugin_data`), the kubelet client at Configure (credential files, no hostname to
 *   verify the kubelet against), `attest --config`, the listener (`PLUGIN_*` environment, a socket path
 *   that is too long).
 * - `not-configured` (FAILED_PRECONDITION): Attest before a successful Configure. Thrown by the runtime.
 * - `platform-unavailable` (FAILED_PRECONDITION): the platform cannot give what the plugin needs. Thrown by
 *   the Windows platform (the Windows API cannot be loaded, the sandbox mount variable cannot be read).
 * - `process-changed` (FAILED_PRECONDITION): the PID changed hands or the process moved while it was being
 *   attested. Thrown by the Unix locator (start time differs between reads), the re-check before an answer.
 * - `id-conflict` (FAILED_PRECONDITION): a process's cgroup paths name more than one pod UID or container ID,
 *   or the legacy patterns and the kubelet layout disagree. Thrown by the Unix locator.
 * - `owner-mismatch` (FAILED_PRECONDITION): the kubelet lists the container under another pod than its cgroup
 *   path names. Thrown by the core.
 * - `process-gone` (NOT_FOUND): the process does not exist (also when it exited during the lookup). Thrown by
 *   the Unix and Windows locators.
 * - `unknown-service` (NOT_FOUND): a health check for a service the plugin does not serve. Thrown by the
 *   health service.
 * - `outside-pod-cgroups` (PERMISSION_DENIED): a cgroup path names a pod but is not under the kubelet's pod
 *   cgroups. Thrown by the Unix locator.
 * - `ephemeral-container` (PERMISSION_DENIED): the container is an ephemeral (debug) container, which is
 *   never attested. Thrown by the core.
 * - `os-denied` (PERMISSION_DENIED): the operating system refused access (a `/proc` file, a Windows process
 *   or handle). Thrown by the Unix and Windows locators.
 * - `pod-list-ambiguous` (INTERNAL): two items of the kubelet's pod list claim the same pod UID or container
 *   ID (or, for a pod reference, the same namespace and name). Thrown by the core and reference attestation.
 * - `multiple-jobs` (INTERNAL): a Windows process is in more than one container job. Thrown by the Windows
 *   locator.
 * - `malformed-input` (INTERNAL): a file or object the plugin reads about a process is not in the expected
 *   form: malformed `/proc` text, a file over its size limit, a missing cgroup file, a handle that is not a
 *   job, a job name without an ID. Thrown by the Unix and Windows locators.
 * - `os-failed` (INTERNAL): an operating-system call failed for another reason than access, or its answer
 *   could not be used (the Windows process snapshot or handle table over its limits). Thrown by the Unix
 *   and Windows locators.
 * - `process-unverifiable` (INTERNAL): the locator gave no start time, so the process cannot be re-checked
 *   before an answer. Thrown by the re-check.
 * - `internal` (INTERNAL): an unexpected error (a bug, an exception of unknown kind), wrapped where it
 *   surfaced. Thrown by the Unix locator, Configure (building or applying the configuration), the `attest`
 *   command.
 * - `shutting-down` (UNAVAILABLE): the plugin is being unloaded. Thrown by the runtime.
 * - `reconfigured` (UNAVAILABLE): a Configure that changed the pod source overtook the attestation. Thrown by
 *   the runtime.
 * - `fetcher-closed` (UNAVAILABLE): the pod-list fetcher was closed (final, not retried). Thrown by the
 *   pod-list fetcher.
 * - `kubelet-unreachable` (UNAVAILABLE): no complete answer from the kubelet: the request could not be
 *   created or sent, the connection or TLS failed, timed out, or ended before the body did (retried). Thrown
 *   by the kubelet client.
 * - `kubelet-rejected` (UNAVAILABLE): the kubelet answered with a status other than 200 (retried). Thrown by
 *   the kubelet client.
 * - `kubelet-bad-response` (UNAVAILABLE): the kubelet's 200 answer cannot be used: over the size limit, not
 *   UTF-8, not a JSON pod list (retried). Thrown by the kubelet client, the pod-list parser.
 * - `pod-list-failed` (UNAVAILABLE): the pod-list source failed with an error of unknown kind (retried).
 *   Thrown by the pod-list fetcher, the core.
 * - `pod-decode-failed` (UNAVAILABLE): the matched pod's entry in the pod list cannot be decoded. Thrown by
 *   the core and reference attestation.
 * - `listen-failed` (UNAVAILABLE): the plugin cannot create its socket or listen (at start, before any call).
 *   Thrown by the listener.
 * - `pod-not-listed` (DEADLINE_EXCEEDED): the pod list did not show the process's pod and container within
 *   `max_poll_attempts`. Thrown by the core.
 * - `deadline-exceeded` (DEADLINE_EXCEEDED): the call's deadline passed. Thrown by every layer that waits
 *   (from its `AbortSignal`).
 * - `cancelled` (CANCELLED): the call was cancelled. Thrown by every layer that waits (from its
 *   `AbortSignal`), the kubelet client (an aborted request), the pod-list fetcher (the abort of its request
 *   when it is closed).
 * - `unsupported` (UNIMPLEMENTED): the operation is not implemented. No longer thrown by the plugin itself
 *   (reference attestation is implemented); kept, with its code, for embedders and test doubles.
 * - `registry-failed` (INTERNAL, as upstream for every sigstore failure): the container registry could not
 *   give an image's manifest or signatures (unreachable, refused, timed out, an answer over its size limit
 *   or not matching its digest). Thrown by the OCI registry client.
 * - `signature-unverified` (INTERNAL, as upstream): the image's signatures cannot be trusted: the image ID
 *   carries no digest, no signature passes every check, or the trust material cannot be used. Thrown by the
 *   sigstore verifier.
 * - `apiserver-failed` (INTERNAL, as upstream for every Kubernetes API failure): the Kubernetes API server
 *   gave no usable answer: no in-cluster configuration, unreachable, TLS refused, timed out, a status other
 *   than 200/201 and 404, an answer over its size limit or not the JSON expected. Thrown by the API server
 *   client, reference attestation and the namespace-label lookup.
 * - `object-not-found` (NOT_FOUND): the object a reference names does not exist where the broker may look
 *   (not on the agent's node for `agent_node` scope), or its UID differs from the reference's. Thrown by
 *   reference attestation.
 * - `broker-denied` (PERMISSION_DENIED): the broker is not allowed the answer: its SPIFFE ID is not in
 *   `experimental.broker.brokers`, or the Kubernetes authorizer denied the `impersonate-via-spire`
 *   SubjectAccessReview. Thrown by reference attestation.
 * - `kubelet-disabled` (FAILED_PRECONDITION): the answer needs the kubelet and `disable_kubelet_client` is
 *   set (PID attestation, `agent_node` pod references). Thrown by the runtime and reference attestation.
 */
export type ErrorReason = typeof ERROR_REASONS[number];

/**
 * An error with a domain reason. The message is meant for operators: it names the input that was wrong
 * (file, line, key, URL) and never contains a secret. Code decides on the {@linkcode AttestorError.reason},
 * never on the message.
 *
 * @example Throwing and recognising one
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttestorError } from "./errors.ts";
 * const err = new AttestorError("process-gone", "process 42 does not exist");
 * assert.ok(err instanceof Error);
 * assert.equal(err.reason, "process-gone");
 * assert.equal(err.message, "process 42 does not exist");
 * ```
 */
export class AttestorError extends Error {
  /** Why the operation failed; mapped to a gRPC status at the plugin edge. */
  readonly reason: ErrorReason;

  /**
   * @param reason Why the operation failed.
   * @param message Operator-facing text: what failed and which input caused it.
   * @param options Standard error options (`cause`).
   */
  constructor(reason: ErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AttestorError";
    this.reason = reason;
  }
}

/**
 * Returns `err` when it is already an {@linkcode AttestorError}, otherwise wraps it with `reason` and a
 * `prefix: message` text. Use at boundaries where unknown exceptions may surface.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttestorError, toAttestorError } from "./errors.ts";
 * const wrapped = toAttestorError(new TypeError("x is undefined"), "internal", "locating process 7");
 * assert.equal(wrapped.reason, "internal");
 * assert.equal(wrapped.message, "locating process 7: x is undefined");
 * const known = new AttestorError("process-gone", "gone");
 * assert.equal(toAttestorError(known, "internal"), known);
 * ```
 *
 * @param err Anything that was thrown.
 * @param reason The reason for errors that carry none.
 * @param prefix Context prepended to the original message.
 * @returns An {@linkcode AttestorError}.
 */
export function toAttestorError(err: unknown, reason: ErrorReason, prefix?: string): AttestorError {
  if (err instanceof AttestorError) return err;
  const text = errorMessage(err);
  return new AttestorError(reason, prefix ? `${prefix}: ${text}` : text, { cause: err });
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
