/**
 * The platform abstraction: how a PID becomes a (pod UID, container ID) pair, and the few other things
 * that differ between a Linux node and a Windows hostprocess container. The port the core calls,
 * `ContainerLocator`, is the core's own (`src/core/locator_port.ts`, re-exported here); `src/platform/mod.ts`
 * picks the implementation in exactly one place.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { ContainerLocator } from "../core/locator_port.ts";

export type { ContainerLocation, ContainerLocator } from "../core/locator_port.ts";

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
