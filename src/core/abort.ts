/**
 * The one way an abort becomes an error. A caller's deadline or cancellation arrives as an `AbortSignal`
 * (`AbortSignal.timeout` for a deadline, `AbortSignal.any` to combine one with a local timeout); every layer
 * turns it into an {@linkcode AttestorError} here: `deadline-exceeded` when the signal's reason is a timeout,
 * `cancelled` otherwise, each with the text of the layer that was waiting.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";

/**
 * Whether an abort reason is a deadline: an error named `TimeoutError`, which `AbortSignal.timeout` aborts
 * with (a `DOMException`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isTimeoutReason } from "./abort.ts";
 * assert.equal(isTimeoutReason(new DOMException("late", "TimeoutError")), true);
 * assert.equal(isTimeoutReason(new DOMException("stop", "AbortError")), false);
 * ```
 *
 * @param reason A signal's `reason`.
 * @returns True for a timeout.
 */
export function isTimeoutReason(reason: unknown): boolean {
  return reason instanceof Error && reason.name === "TimeoutError";
}

/** How a layer words an abort. */
export interface AbortTexts {
  /** The message of the `deadline-exceeded` error for a timeout. */
  readonly deadline: string;
  /** The message of the `cancelled` error for any other abort. */
  readonly cancelled: string;
  /** Whether a reason that is already an {@linkcode AttestorError} is passed on as it is. */
  readonly passAttestorError: boolean;
}

/**
 * Go's context texts, which the agent knows (`context deadline exceeded`, `context canceled`); an
 * {@linkcode AttestorError} reason (the plugin aborts with one) is passed on.
 */
export const CONTEXT_ABORT_TEXTS: AbortTexts = {
  deadline: "context deadline exceeded",
  cancelled: "context canceled",
  passAttestorError: true,
};

/**
 * The error for an aborted signal: the reason itself when it is an {@linkcode AttestorError} and `texts`
 * passes those on, `deadline-exceeded texts.deadline` when it is a timeout (see {@linkcode isTimeoutReason}),
 * else `cancelled texts.cancelled`. The signal's reason is kept as the `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { abortError } from "./abort.ts";
 * assert.equal(abortError(AbortSignal.abort()).message, "context canceled");
 * const late = abortError(AbortSignal.abort(new DOMException("late", "TimeoutError")));
 * assert.equal(late.reason, "deadline-exceeded");
 * ```
 *
 * @param signal An aborted signal.
 * @param texts The wording. @default {CONTEXT_ABORT_TEXTS}
 * @returns The error to throw.
 */
export function abortError(signal: AbortSignal, texts: AbortTexts = CONTEXT_ABORT_TEXTS): AttestorError {
  const reason: unknown = signal.reason;
  if (texts.passAttestorError && reason instanceof AttestorError) return reason;
  if (isTimeoutReason(reason)) {
    return new AttestorError("deadline-exceeded", texts.deadline, { cause: reason });
  }
  return new AttestorError("cancelled", texts.cancelled, { cause: reason });
}

/**
 * Runs `listener` once when `signal` aborts (not when it already has: check `signal.aborted` first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { onAbort } from "./abort.ts";
 * const controller = new AbortController();
 * let calls = 0;
 * const stop = onAbort(controller.signal, () => calls++);
 * stop();
 * controller.abort();
 * assert.equal(calls, 0);
 * ```
 *
 * @param signal The signal; `undefined` never aborts.
 * @param listener Called on abort.
 * @returns Removes the listener (call it when the wait is over); idempotent.
 */
export function onAbort(signal: AbortSignal | undefined, listener: () => void): () => void {
  if (signal === undefined) return () => {};
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

/**
 * Settles with `promise`, or rejects with {@linkcode abortError} as soon as `signal` aborts (at once when it
 * already has). The abandoned `promise` may still reject later; that rejection is swallowed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { raceAbort } from "./abort.ts";
 * const never = new Promise<number>(() => {});
 * await assert.rejects(raceAbort(never, AbortSignal.timeout(1)), { reason: "deadline-exceeded" });
 * assert.equal(await raceAbort(Promise.resolve(1), new AbortController().signal), 1);
 * ```
 *
 * @param promise The operation.
 * @param signal Its deadline and cancellation; without one, `promise` is returned.
 * @param texts The wording of the abort error. @default {CONTEXT_ABORT_TEXTS}
 * @returns The operation's result.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  texts: AbortTexts = CONTEXT_ABORT_TEXTS,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortError(signal, texts));
  }
  return new Promise<T>((resolve, reject) => {
    const stop = onAbort(signal, () => {
      promise.catch(() => {});
      reject(abortError(signal, texts));
    });
    promise.then(
      (value) => {
        stop();
        resolve(value);
      },
      (err) => {
        stop();
        reject(err);
      },
    );
  });
}

/**
 * A signal that aborts when `signal` does, or with a `TimeoutError` once `ms` milliseconds have passed
 * (`AbortSignal.any` over `AbortSignal.timeout`). Which of the two fired: `signal?.aborted`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isTimeoutReason, withTimeout } from "./abort.ts";
 * const caller = new AbortController();
 * const both = withTimeout(caller.signal, 60_000);
 * caller.abort();
 * assert.equal(both.aborted, true);
 * assert.equal(isTimeoutReason(both.reason), false);
 * ```
 *
 * @param signal The caller's signal, if any.
 * @param ms The local timeout (0 or less: the next timer turn).
 * @returns The combined signal.
 */
export function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(Math.max(0, ms));
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
}
