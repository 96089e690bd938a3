/**
 * Test helper for the job-object locator tests: the base fake host (one vmcompute holding the workload's
 * container job), one lookup that also checks no handle leaked, and the error assertion.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ErrorReason } from "../../src/errors.ts";
import { JobContainerLocator, type JobLocatorLimits } from "../../src/platform/windows/job_locator.ts";
import type { ContainerLocation } from "../../src/platform/types.ts";
import { assertAttestorError } from "../../src/testing/assert_error.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";
import { defaultCreationTime, FakeWindows, type FakeWindowsOptions, ID_A } from "./fake_winapi.ts";

/** The workload's PID. */
export const WORKLOAD = 42;
/** The PID of vmcompute.exe. */
export const VMCOMPUTE = 3;

/** What `locate(pid)` returns: the container ID and the process's creation time from `GetProcessTimes`. */
export function located(pid: number, containerId: string | null): ContainerLocation {
  return { podUid: null, containerId, startTime: String(defaultCreationTime(pid)) };
}

/** The base host: one vmcompute holding a file, an event and the workload's container job. */
export function host(overrides: Partial<FakeWindowsOptions> = {}): FakeWindows {
  return new FakeWindows({
    processes: [
      { pid: 1, exe: "a.exe" },
      { pid: 2, exe: "b.exe" },
      { pid: VMCOMPUTE, exe: "vmcompute.exe" },
      { pid: WORKLOAD, exe: "workload.exe" },
      { pid: 43, exe: "other.exe" },
    ],
    objects: {
      jobA: { type: "Job", name: `\\Container_${ID_A}`, members: [WORKLOAD] },
      file: { type: "File", name: "\\Device\\HarddiskVolume1\\x" },
      event: { type: "Event", name: "" },
    },
    handles: [
      { owner: VMCOMPUTE, handle: 0x10n, object: "file" },
      { owner: VMCOMPUTE, handle: 0x14n, object: "jobA" },
      { owner: VMCOMPUTE, handle: 0x18n, object: "event" },
      // the same job held by a non-vmcompute process is ignored
      { owner: 2, handle: 0x14n, object: "jobA" },
    ],
    ...overrides,
  });
}

/** The result of one lookup and what it logged. */
export interface Outcome {
  /** The location, when the lookup succeeded. */
  result?: ContainerLocation;
  /** What it threw, when it failed. */
  error?: unknown;
  /** Every line it logged (verbose). */
  logs: RecordedLine[];
}

/** Runs one lookup and asserts that no handle leaked, whatever the outcome. */
export async function locate(
  fake: FakeWindows,
  pid = WORKLOAD,
  limits?: Partial<JobLocatorLimits>,
  signal?: AbortSignal,
): Promise<Outcome> {
  const logs: Outcome["logs"] = [];
  const locator = new JobContainerLocator({
    api: fake,
    logger: recordingLogger(logs),
    verbose: true,
    limits,
  });
  const outcome: Outcome = { logs };
  try {
    outcome.result = await locator.locate(pid, signal);
  } catch (err) {
    outcome.error = err;
  }
  assert.equal(fake.openHandles, 0, "every handle is closed");
  assert.equal(fake.badCloses, 0, "no handle is closed twice");
  return outcome;
}

/** Asserts that the lookup failed with an AttestorError of `reason` and `message`. */
export function assertError(outcome: Outcome, reason: ErrorReason, message: string | RegExp): void {
  assert.equal(outcome.result, undefined, "no result expected");
  assertAttestorError(outcome.error, reason, message);
}
