/**
 * The one abort helper: how an aborted signal becomes an error (deadline, cancellation, a reason passed on),
 * racing an operation against a signal, and combining a caller's signal with a local timeout.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  abortError,
  type AbortTexts,
  CONTEXT_ABORT_TEXTS,
  isTimeoutReason,
  onAbort,
  raceAbort,
  withTimeout,
} from "../../src/core/abort.ts";
import { AttestorError } from "../../src/errors.ts";
import { countingController } from "./fakes.ts";

const WAIT: AbortTexts = { deadline: "late", cancelled: "stopped", passAttestorError: false };

describe("abortError", () => {
  it("maps reasons with the context texts", () => {
    const plain = abortError(AbortSignal.abort());
    assert.equal(plain.reason, "cancelled");
    assert.equal(plain.message, "context canceled");
    const own = new AttestorError("shutting-down", "plugin shutting down");
    assert.equal(abortError(AbortSignal.abort(own)), own);
    const late = abortError(AbortSignal.abort(new DOMException("t", "TimeoutError")));
    assert.equal(late.reason, "deadline-exceeded");
    assert.equal(late.message, "context deadline exceeded");
  });

  it("uses a layer's own texts, and wraps an AttestorError reason when told so", () => {
    const own = new AttestorError("shutting-down", "plugin shutting down");
    const wrapped = abortError(AbortSignal.abort(own), WAIT);
    assert.equal(wrapped.reason, "cancelled");
    assert.equal(wrapped.message, "stopped");
    assert.equal(wrapped.cause, own);
    const late = abortError(AbortSignal.abort(new DOMException("t", "TimeoutError")), WAIT);
    assert.deepEqual([late.reason, late.message], ["deadline-exceeded", "late"]);
  });

  it("a real AbortSignal.timeout is a deadline; an AbortError is not", async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    assert.equal(isTimeoutReason(signal.reason), true);
    assert.equal(abortError(signal).reason, "deadline-exceeded");
    const controller = new AbortController();
    controller.abort();
    assert.equal(isTimeoutReason(controller.signal.reason), false);
    assert.equal(isTimeoutReason(undefined), false);
  });
});

describe("raceAbort", () => {
  it("settles with the operation while the signal is quiet, and removes its listener", async () => {
    const { controller, counts } = countingController();
    const signal = controller.signal;
    assert.equal(await raceAbort(Promise.resolve(7), signal), 7);
    await assert.rejects(raceAbort(Promise.reject(new Error("own")), signal), /own/);
    assert.deepEqual(counts, { added: 2, removed: 2 });
  });

  it("rejects as soon as the signal aborts, with the layer's texts, and swallows the late rejection", async () => {
    const controller = new AbortController();
    let fail: (err: Error) => void = () => {};
    const pending = new Promise<never>((_resolve, reject) => (fail = reject));
    const raced = raceAbort(pending, controller.signal, WAIT);
    controller.abort();
    await assert.rejects(raced, { reason: "cancelled", message: "stopped" });
    fail(new Error("late")); // must not become an unhandled rejection
  });

  it("an already aborted signal rejects at once; no signal returns the operation itself", async () => {
    await assert.rejects(raceAbort(new Promise(() => {}), AbortSignal.abort()), {
      reason: "cancelled",
      message: CONTEXT_ABORT_TEXTS.cancelled,
    });
    const op = Promise.resolve(1);
    assert.equal(raceAbort(op, undefined), op);
  });
});

describe("onAbort", () => {
  it("calls the listener once on abort, never after it was removed", () => {
    const fired: string[] = [];
    const a = new AbortController();
    onAbort(a.signal, () => fired.push("a"));
    a.abort();
    a.abort();
    const b = new AbortController();
    const stop = onAbort(b.signal, () => fired.push("b"));
    stop();
    stop();
    b.abort();
    onAbort(undefined, () => fired.push("never"))();
    assert.deepEqual(fired, ["a"]);
  });
});

describe("withTimeout", () => {
  it("aborts with a TimeoutError when the time is up and the caller's signal is quiet", async () => {
    const caller = new AbortController();
    const signal = withTimeout(caller.signal, 5);
    await new Promise<void>((resolve) => onAbort(signal, resolve));
    assert.equal(isTimeoutReason(signal.reason), true);
    assert.equal(caller.signal.aborted, false);
  });

  it("aborts with the caller's reason when the caller aborts first", () => {
    const caller = new AbortController();
    const signal = withTimeout(caller.signal, 60_000);
    const reason = new AttestorError("cancelled", "fetcher closed");
    caller.abort(reason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
  });

  it("without a caller's signal, a past deadline still times out (on the next timer turn)", async () => {
    const signal = withTimeout(undefined, -10);
    assert.equal(signal.aborted, false);
    await new Promise<void>((resolve) => onAbort(signal, resolve));
    assert.equal(isTimeoutReason(signal.reason), true);
  });
});
