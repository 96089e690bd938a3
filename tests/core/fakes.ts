/**
 * Fakes for the attestor core's system edges (the kubelet pod-list source and the container locator), a
 * capturing logger, a core wired to them, and the error assertion the core tests share. Test-only.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type AttestCoreConfig, createAttestCore } from "../../src/core/attest.ts";
import { AttestorError, type ErrorReason } from "../../src/errors.ts";
import { parsePodList } from "../../src/kubelet/pods.ts";
import type { PodListSnapshot, PodListSource } from "../../src/core/types.ts";
import type { LogFields, Logger } from "../../src/log.ts";
import type { ContainerLocation, ContainerLocator } from "../../src/platform/types.ts";

const FIXTURES = new URL("../testdata/pods/", import.meta.url);

/** Reads a pod-list fixture body from tests/testdata/pods/. */
export function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(name, FIXTURES));
}

/** Returns `body` after `edit` mutated its parsed JSON (for "the same list, one refresh later"). */
export function editBody(body: string, edit: (list: { items: Record<string, unknown>[] }) => void): string {
  const list = JSON.parse(body);
  edit(list);
  return JSON.stringify(list);
}

/**
 * One response of the fake kubelet: a body, an error the fetch fails with, or `"hang"` (never answers;
 * rejects only when the caller's signal aborts).
 */
export type FakeStep = string | Error | "hang";

/**
 * A pod-list source that serves `steps` in order (the last one repeats). Each successful fetch gets the next
 * version, so every answer is newer than the caller's `afterVersion`, as the real fetcher guarantees.
 */
export class FakePodList implements PodListSource {
  /** The `afterVersion` of every call, in order. */
  readonly calls: number[] = [];
  #steps: FakeStep[];
  #version = 0;
  /** Abort listeners currently registered by hanging calls. */
  pendingListeners = 0;

  constructor(steps: FakeStep[]) {
    if (steps.length === 0) throw new RangeError("FakePodList needs at least one step");
    this.#steps = steps;
  }

  fetchNext(afterVersion: number, signal?: AbortSignal): Promise<PodListSnapshot> {
    this.calls.push(afterVersion);
    const step = this.#steps[Math.min(this.calls.length - 1, this.#steps.length - 1)];
    if (step === "hang") {
      return new Promise((_resolve, reject) => {
        if (!signal) return; // never settles; tests always pass a signal with "hang"
        const onAbort = () => {
          this.pendingListeners--;
          reject(signal.reason);
        };
        this.pendingListeners++;
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    if (step instanceof Error) return Promise.reject(step);
    this.#version = Math.max(this.#version, afterVersion) + 1;
    try {
      return Promise.resolve(parsePodList(step, this.#version));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/** The start time {@linkcode FakeLocator} reports when an answer sets none (a real locator always does). */
export const FAKE_START_TIME = "4242000";

/** One answer of {@linkcode FakeLocator}: a location, an error, or `"hang"` (settles only on abort). */
export type FakeLocatorAnswer = ContainerLocation | Error | "hang";

/**
 * A locator that answers `first` to the first call and then each of `later` in turn (the last one repeats),
 * and records the PIDs asked. A location without a `startTime` key gets {@linkcode FAKE_START_TIME}; an
 * explicit `startTime: undefined` stays absent.
 */
export class FakeLocator implements ContainerLocator {
  readonly pids: number[] = [];
  #answers: FakeLocatorAnswer[];

  constructor(first: FakeLocatorAnswer, ...later: FakeLocatorAnswer[]) {
    this.#answers = [first, ...later];
  }

  locate(pid: number, signal?: AbortSignal): Promise<ContainerLocation> {
    this.pids.push(pid);
    const answer = this.#answers[Math.min(this.pids.length - 1, this.#answers.length - 1)];
    if (answer === "hang") {
      return new Promise((_resolve, reject) => {
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve("startTime" in answer ? answer : { ...answer, startTime: FAKE_START_TIME });
  }
}

/** One captured log line. */
export interface LogLine {
  level: string;
  message: string;
  fields: LogFields;
}

/** A logger that keeps every line in `lines`. */
export function capturingLogger(lines: LogLine[], base: LogFields = {}): Logger {
  const emit = (level: string) => (message: string, fields?: LogFields) => {
    lines.push({ level, message, fields: { ...base, ...fields } });
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    with: (fields) => capturingLogger(lines, { ...base, ...fields }),
  };
}

/** A kubelet error the fetcher would raise (by default: the kubelet is unreachable). */
export function kubeletError(
  text = "unable to perform request: connection refused",
  reason: ErrorReason = "kubelet-unreachable",
): AttestorError {
  return new AttestorError(reason, text);
}

/** How many abort listeners were added to and removed from a signal of {@linkcode countingController}. */
export interface ListenerCounts {
  added: number;
  removed: number;
}

/** An `AbortController` whose signal counts `addEventListener` and `removeEventListener` calls. */
export function countingController(): { controller: AbortController; counts: ListenerCounts } {
  const controller = new AbortController();
  const counts: ListenerCounts = { added: 0, removed: 0 };
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener =
    ((...args: Parameters<typeof add>) => (counts.added++, add(...args))) as typeof add;
  signal.removeEventListener =
    ((...args: Parameters<typeof remove>) => (counts.removed++, remove(...args))) as typeof remove;
  return { controller, counts };
}

/** What {@linkcode fakeCore} wires together. */
export interface FakeCoreSetup {
  /** The locator's first answer (it repeats). */
  location: ContainerLocation | Error | "hang";
  /** The pod-list source's answers. */
  steps: FakeStep[];
  /** Overrides of `maxPollAttempts: 5, disableContainerSelectors: false`. */
  config?: Partial<AttestCoreConfig>;
}

/** A core over a {@linkcode FakeLocator} and a {@linkcode FakePodList}, logging into `lines`. */
export function fakeCore({ location, steps, config }: FakeCoreSetup) {
  const lines: LogLine[] = [];
  const locator = new FakeLocator(location);
  const pods = new FakePodList(steps);
  const core = createAttestCore({
    locator,
    pods,
    logger: capturingLogger(lines),
    config: { maxPollAttempts: 5, disableContainerSelectors: false, ...config },
  });
  return { core, pods, locator, lines };
}

/** Awaits `promise`, which must reject with an {@linkcode AttestorError} of `reason` and `message`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  reason: ErrorReason,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AttestorError, `expected an AttestorError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}
