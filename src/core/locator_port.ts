/**
 * The core's port to the platform: how a PID becomes a (pod UID, container ID) pair. The Linux and Windows
 * locators (`src/platform/`) implement it; the core calls it and never imports a platform module.
 *
 * @module
 */

/**
 * Where a process runs. `containerId === null` means "not in a container": the attestor then returns no
 * selectors (success), as upstream does. `podUid` is known on Linux when the cgroup path names the pod; it
 * is always `null` on Windows.
 */
export interface ContainerLocation {
  /** The pod UID (dashed form), or `null` when the path does not name one. */
  readonly podUid: string | null;
  /** The container ID exactly as found (hex case preserved), or `null` when not in a container. */
  readonly containerId: string | null;
  /**
   * When the located process started, as an opaque decimal string that is only compared for equality: it
   * tells the process that held the PID during this lookup from any later process given the same PID.
   *
   * - Linux: `starttime` (field 22 of `/proc/<pid>/stat`, clock ticks since boot), read **before and after**
   *   the cgroup and mountinfo reads; the lookup fails when the two differ (or when the process vanished
   *   in between), so the location belongs to the process with this start time. Absent only under a test
   *   proc root that has no `stat` file.
   * - Windows: the creation time (`GetProcessTimes`, 100 ns units since 1601) of the process handle that
   *   the whole job lookup runs on; an open handle keeps the PID from being reused, so one read suffices.
   *
   * The attestor core locates the process again after the pod list matched and answers only when the start
   * time, pod UID and container ID are unchanged (`src/core/recheck.ts`); it refuses a location without a
   * start time.
   */
  readonly startTime?: string;
}

/**
 * Finds the pod and container of a process. Implementations throw `AttestorError` with reason
 * `process-gone` for a process that does not exist, `id-conflict` for conflicting IDs, `os-denied` when the
 * OS refuses access, `malformed-input` or `os-failed` for malformed or unreadable input, always naming the
 * file or call (see `ErrorReason` for the rest).
 */
export interface ContainerLocator {
  /**
   * Locates `pid`.
   *
   * @param pid The process ID.
   * @param signal Aborts the lookup.
   * @returns The location; `containerId` is `null` when the process is not in a container; `startTime`
   *   identifies the process instance the location belongs to.
   */
  locate(pid: number, signal?: AbortSignal): Promise<ContainerLocation>;
  /**
   * Locates `pid` again for the core's re-check (`src/core/recheck.ts`), with one read less than
   * {@linkcode ContainerLocator.locate}: the start time that closed the bracket of the lookup that produced
   * `first` also opens the bracket of this one. On Linux: `first`'s start time was read after `first`'s
   * cgroup files; this lookup reads the cgroup files again, then the start time, and returns that start
   * time. The sequence start time (S0), cgroup, start time (S1 = S0), cgroup, start time (S2) brackets
   * both cgroup reads by equal start times exactly when S2 equals `first.startTime`, so **the caller must
   * compare** the returned `startTime` with `first.startTime` before it uses anything else returned (the
   * re-check does). Without this method, or for a `first` without a start time, the caller uses `locate`.
   *
   * @param pid The process ID.
   * @param first The location of the earlier lookup of `pid` (its `startTime` opens the bracket).
   * @param signal Aborts the lookup.
   * @returns The location; `startTime` is the one read last, to be compared with `first.startTime`.
   */
  relocate?(pid: number, first: ContainerLocation, signal?: AbortSignal): Promise<ContainerLocation>;
}
