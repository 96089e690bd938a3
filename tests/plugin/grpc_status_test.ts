import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { AttestorError, type ErrorCode } from "../../src/errors.ts";
import { asciiStatusMessage, grpcCodeOf, toServiceError } from "../../src/plugin/grpc_status.ts";

describe("grpc_status", () => {
  it("maps every domain code to the gRPC code of the same name", () => {
    const table: Array<[ErrorCode, number]> = [
      ["CANCELLED", 1],
      ["INVALID_ARGUMENT", 3],
      ["DEADLINE_EXCEEDED", 4],
      ["NOT_FOUND", 5],
      ["PERMISSION_DENIED", 7],
      ["FAILED_PRECONDITION", 9],
      ["UNIMPLEMENTED", 12],
      ["INTERNAL", 13],
      ["UNAVAILABLE", 14],
    ];
    for (const [code, expected] of table) {
      assert.equal(grpcCodeOf(code), expected, code);
      assert.equal(status[code], expected, `grpc-js names ${code} ${expected}`);
    }
  });

  it("keeps an AttestorError's code and message", () => {
    const err = toServiceError(new AttestorError("PERMISSION_DENIED", "cannot read /proc/42/cgroup"));
    assert.equal(err.code, status.PERMISSION_DENIED);
    assert.equal(err.details, "cannot read /proc/42/cgroup");
    assert.equal(err.message, "cannot read /proc/42/cgroup");
  });

  it("hides the text of unexpected errors behind INTERNAL", () => {
    const err = toServiceError(new TypeError("x is undefined at /secret/path"));
    assert.equal(err.code, status.INTERNAL);
    assert.equal(err.details, "internal error (details are in the plugin log)");
    assert.equal(toServiceError("a string").code, status.INTERNAL);
  });

  it("keeps status messages on one line of printable ASCII", () => {
    assert.equal(asciiStatusMessage("a\nb\r\nc"), "a; b; c");
    assert.equal(asciiStatusMessage("caf\u00e9 \u2713\ttab"), "caf? ??tab");
    const long = asciiStatusMessage("x".repeat(5000));
    assert.equal(long.length, 4096);
    assert.ok(long.endsWith("...(truncated, 5000 bytes)"), "the cut states the original length");
    const err = toServiceError(new AttestorError("INVALID_ARGUMENT", "line 1: bad\nline 2: worse"));
    assert.equal(err.details, "line 1: bad; line 2: worse");
  });
});
