/**
 * The platform abstraction: how a PID becomes a (pod UID, container ID) pair, and the few other things
 * that differ between a Linux node and a Windows hostprocess container. The core depends only on these
 * types; `src/platform/mod.ts` picks the implementation in exactly one place.
 *
 * @module
 */

import type { Logger } from "../log.ts";

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
 * Finds the pod and container of a process. Implementations throw `AttestorError` with code `NOT_FOUND`
 * for a process that does not exist, `FAILED_PRECONDITION` for conflicting IDs, `PERMISSION_DENIED` when
 * the OS refuses access and `INTERNAL` for unreadable or malformed input, always naming the file or call.
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
}

/** Options that select and tune a platform's locator. */
export interface LocatorOptions {
  /** `use_new_container_locator` (Linux only; ignored on Windows). */
  readonly useNewContainerLocator: boolean;
  /**
   * `kubelet_cgroup_root` (Linux only): the one kubelet `--cgroup-root` whose pod cgroups are trusted;
   * `null` or absent for the defaults (`/`, `/kubelet`, `/kubepods`).
   */
  readonly kubeletCgroupRoot?: string | null;
  /** `verbose_container_locator_logs`: log the lines considered and the decision. */
  readonly verbose: boolean;
  /** Where diagnostics go. */
  readonly logger: Logger;
  /**
   * The directory holding `proc/` (Linux only): `/` on a node, the host's proc mount's parent when the
   * plugin runs in a container that mounts it elsewhere, a fixture in tests. @default {"/"}
   */
  readonly procRoot?: string;
}

/** What differs between platforms. */
export interface Platform {
  /** The platform's name, for logs and `--version`. */
  readonly name: "unix" | "windows";
  /** How the go-plugin listener is announced: a unix socket path, or TCP on 127.0.0.1. */
  readonly transport: "unix" | "tcp";
  /** Creates the locator configured by `options`. */
  createLocator(options: LocatorOptions): ContainerLocator;
  /**
   * Resolves a configured credential path (CA, token, client certificate or key). On Windows hostprocess
   * containers it is placed under `CONTAINER_SANDBOX_MOUNT_POINT` when that variable is set; elsewhere it is
   * returned unchanged.
   */
  resolveConfigPath(path: string): string;
}
