import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { AttestorError, ERROR_REASONS, type ErrorReason } from "../../src/errors.ts";
import { asciiStatusMessage, grpcCodeOf, toServiceError } from "../../src/plugin/grpc_status.ts";

/**
 * The gRPC code spire-agent must receive for each domain reason, written out here independently of the
 * product table: the codes are those the plugin sent for the same failures before the reasons existed
 * (upstream's codes), so a change to a row changes the wire and must fail here. The `Record` type makes
 * `deno check` fail when a reason is added without a row.
 */
const EXPECTED: Readonly<Record<ErrorReason, [name: keyof typeof status, code: number]>> = {
  "bad-request": ["INVALID_ARGUMENT", 3],
  "bad-config": ["INVALID_ARGUMENT", 3],
  "not-configured": ["FAILED_PRECONDITION", 9],
  "platform-unavailable": ["FAILED_PRECONDITION", 9],
  "process-changed": ["FAILED_PRECONDITION", 9],
  "id-conflict": ["FAILED_PRECONDITION", 9],
  "owner-mismatch": ["FAILED_PRECONDITION", 9],
  "process-gone": ["NOT_FOUND", 5],
  "unknown-service": ["NOT_FOUND", 5],
  "outside-pod-cgroups": ["PERMISSION_DENIED", 7],
  "ephemeral-container": ["PERMISSION_DENIED", 7],
  "os-denied": ["PERMISSION_DENIED", 7],
  "pod-list-ambiguous": ["INTERNAL", 13],
  "multiple-jobs": ["INTERNAL", 13],
  "malformed-input": ["INTERNAL", 13],
  "os-failed": ["INTERNAL", 13],
  "process-unverifiable": ["INTERNAL", 13],
  "internal": ["INTERNAL", 13],
  "shutting-down": ["UNAVAILABLE", 14],
  "reconfigured": ["UNAVAILABLE", 14],
  "fetcher-closed": ["UNAVAILABLE", 14],
  "kubelet-unreachable": ["UNAVAILABLE", 14],
  "kubelet-rejected": ["UNAVAILABLE", 14],
  "kubelet-bad-response": ["UNAVAILABLE", 14],
  "pod-list-failed": ["UNAVAILABLE", 14],
  "pod-decode-failed": ["UNAVAILABLE", 14],
  "listen-failed": ["UNAVAILABLE", 14],
  "pod-not-listed": ["DEADLINE_EXCEEDED", 4],
  "deadline-exceeded": ["DEADLINE_EXCEEDED", 4],
  "cancelled": ["CANCELLED", 1],
  "unsupported": ["UNIMPLEMENTED", 12],
  "registry-failed": ["INTERNAL", 13],
  "signature-unverified": ["INTERNAL", 13],
  "apiserver-failed": ["INTERNAL", 13],
  "object-not-found": ["NOT_FOUND", 5],
  "broker-denied": ["PERMISSION_DENIED", 7],
  "kubelet-disabled": ["FAILED_PRECONDITION", 9],
};

describe("grpc_status: the reason → gRPC code table, one test per row", () => {
  for (const reason of ERROR_REASONS) {
    const [name, code] = EXPECTED[reason];
    it(`${reason} → ${name} (${code})`, () => {
      assert.equal(status[name], code, `grpc-js names ${name} ${code}`);
      assert.equal(grpcCodeOf(reason), code);
      const err = toServiceError(new AttestorError(reason, `refused: ${reason}`));
      assert.equal(err.code, code);
      assert.equal(err.details, `refused: ${reason}`);
      assert.equal(err.message, `refused: ${reason}`);
    });
  }

  it("has a row for every reason and no other", () => {
    assert.deepEqual(Object.keys(EXPECTED).sort(), [...ERROR_REASONS].sort());
    assert.equal(new Set(ERROR_REASONS).size, ERROR_REASONS.length, "no reason is listed twice");
  });
});

describe("grpc_status: toServiceError", () => {
  it("turns a thrown non-AttestorError into INTERNAL with a fixed text", () => {
    for (
      const thrown of [new TypeError("x is undefined at /secret/path"), "a string", undefined, { code: 5 }]
    ) {
      const err = toServiceError(thrown);
      assert.equal(err.code, status.INTERNAL, String(thrown));
      assert.equal(err.details, "internal error (details are in the plugin log)");
    }
  });

  it("keeps status messages on one line of printable ASCII", () => {
    assert.equal(asciiStatusMessage("a\nb\r\nc"), "a; b; c");
    assert.equal(asciiStatusMessage("caf\u00e9 \u2713\ttab"), "caf? ??tab");
    const long = asciiStatusMessage("x".repeat(5000));
    assert.equal(long.length, 4096);
    assert.ok(long.endsWith("...(truncated, 5000 bytes)"), "the cut states the original length");
    const err = toServiceError(new AttestorError("bad-config", "line 1: bad\nline 2: worse"));
    assert.equal(err.details, "line 1: bad; line 2: worse");
  });
});
