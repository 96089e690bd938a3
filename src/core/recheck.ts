/**
 * The re-check before answering: the process the attestor is about to give selectors to must still be the
 * one it located before it waited for the kubelet, still in the same pod and container.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import type { ContainerLocation } from "./locator_port.ts";

function where(location: ContainerLocation): string {
  if (location.containerId === null) return "no container";
  const pod = location.podUid === null ? "an unnamed pod" : `pod UID ${JSON.stringify(location.podUid)}`;
  return `${pod}, container ID ${JSON.stringify(location.containerId)}`;
}

/**
 * Locates `pid` again and confirms that the same process still holds it, in the same place.
 *
 * **Why.** An attestation reads the process's cgroups once and then waits for the kubelet, for seconds when
 * the pod is not listed yet. Meanwhile the process may move to another cgroup, exit, or exit and have its
 * PID given to another process (by PID wrap-around, or at once by anyone who may write
 * `/proc/sys/kernel/ns_last_pid`). Answering with what was read first would give the pod's identity to
 * whatever holds the PID at the end.
 *
 * **Order of the reads.** Each `locate` reads the start time, then the cgroup (and mountinfo) files, then
 * the start time again, and fails unless both start times are equal: a start time never changes and a
 * process created later never has an earlier one, so equal values mean that one process held the PID
 * across the reads and the location is that process's. (On Windows the lookup runs on one open process
 * handle, which by itself keeps the PID from being reused, and the creation time is read from it.) This
 * function runs after the pod list matched, as the last step before the selectors are returned. Its
 * lookup is bracketed too: by a full `locate`, or by the locator's `relocate`, which reads the cgroup
 * files and then the start time and lets the first lookup's closing start time open its bracket (the
 * reads are start time S0, cgroup, S1 = S0, [wait, match], cgroup, S2: equal start times before and after
 * each cgroup read exactly when S2 = S1). Either way, comparing its start time with the first one proves
 * that the process located now is the process located before the wait, and comparing pod UID and
 * container ID proves it did not move. A PID reused between the two lookups (or during the second) fails
 * on the start time; a move fails on the location; an exit fails in the lookup itself (`process-gone`).
 *
 * **Limits.** Start times have clock-tick resolution (10 ms on Linux), so a PID given to a new process
 * within the tick in which the first process started would pass; that needs `ns_last_pid`, i.e. root on the
 * node. An exited process that its parent has not reaped yet (a zombie; on Windows, an exited process
 * someone still holds a handle to) keeps its PID and start time, so no other process can hold the PID, and
 * it is answered as the same process. What happens to the PID after the answer is the agent's concern.
 *
 * The "not in a container" answer (no selectors) needs no re-check: it is computed from one bracketed
 * lookup with nothing awaited in between, and it grants no identity.
 *
 * @example A process that moved while the kubelet was asked
 * ```ts
 * import assert from "node:assert/strict";
 * import { confirmSameProcess } from "./recheck.ts";
 * const first = { podUid: "u", containerId: "c1", startTime: "100" };
 * await confirmSameProcess(7, first, () => Promise.resolve(first)); // unchanged: resolves
 * await assert.rejects(
 *   confirmSameProcess(7, first, () => Promise.resolve({ podUid: null, containerId: null, startTime: "100" })),
 *   { reason: "process-changed", message: /is now in no container/ },
 * );
 * ```
 *
 * @param pid The process ID.
 * @param first The location the pod list was matched against.
 * @param relocate Locates `pid` again (the core passes its locator, raced against the call's signal).
 * @param signal The call's signal: an error thrown after it aborted is passed on unchanged.
 * @throws {AttestorError} `process-unverifiable` when `first` has no start time (nothing to compare:
 *   refused rather than guessed); the second lookup's error with its reason (`process-gone` when the
 *   process is gone) and the message prefixed with what was being done; `process-changed` naming the old
 *   and new start time when another process holds the PID, or the old and new pod and container when the
 *   process moved.
 */
export async function confirmSameProcess(
  pid: number,
  first: ContainerLocation,
  relocate: () => Promise<ContainerLocation>,
  signal?: AbortSignal,
): Promise<void> {
  if (first.startTime === undefined) {
    throw new AttestorError(
      "process-unverifiable",
      `cannot confirm that process ${pid} is unchanged: the container locator reported no start time for ` +
        `it (a proc root without /proc/${pid}/stat?)`,
    );
  }
  let now: ContainerLocation;
  try {
    now = await relocate();
  } catch (err) {
    if (signal?.aborted || !(err instanceof AttestorError)) throw err;
    throw new AttestorError(
      err.reason,
      `process ${pid} could not be located again after its pod matched: ${err.message}`,
      { cause: err },
    );
  }
  if (now.startTime !== first.startTime) {
    throw new AttestorError(
      "process-changed",
      `process ${pid} changed during attestation: PID ${pid} now belongs to another process (start time ` +
        `${first.startTime} when located, ${now.startTime ?? "unknown"} now)`,
    );
  }
  if (now.podUid !== first.podUid || now.containerId !== first.containerId) {
    throw new AttestorError(
      "process-changed",
      `process ${pid} changed during attestation: it was located in ${where(first)} and is now in ${
        where(now)
      }`,
    );
  }
}
