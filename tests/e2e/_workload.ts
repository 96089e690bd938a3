/**
 * Test helper for end-to-end tests: a real `sleep` process moved into a fresh kubepods cgroup (systemd
 * naming on cgroup v2, cgroupfs naming on v1), with the pod UID and container ID the cgroup path names.
 *
 * @module
 */

import { randomContainerId } from "../../src/demo/pods.ts";
import {
  type CgroupHierarchy,
  type KubepodsCgroup,
  kubepodsPath,
  placeInCgroup,
} from "../../src/testing/cgroups.ts";

/** A process in a kubepods cgroup. */
export interface Workload {
  /** Its PID. */
  readonly pid: number;
  /** The pod UID its cgroup path names. */
  readonly podUid: string;
  /** The container ID its cgroup path names. */
  readonly containerId: string;
  /** Kills the process and removes the cgroup. */
  stop(): Promise<void>;
}

/**
 * Starts `sleep 120` in a fresh burstable kubepods cgroup under `hierarchy`.
 *
 * @param hierarchy From `detectCgroupSupport()`.
 * @returns The workload; call `stop()` when done.
 */
export async function startWorkload(hierarchy: CgroupHierarchy): Promise<Workload> {
  const podUid = crypto.randomUUID();
  const containerId = randomContainerId();
  const child = new Deno.Command("sleep", { args: ["120"], stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
  let cgroup: KubepodsCgroup | null = null;
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await cgroup?.remove();
  };
  try {
    const driver = hierarchy.version === 2 ? "systemd" : "cgroupfs";
    cgroup = await placeInCgroup(
      hierarchy,
      kubepodsPath(driver, "burstable", podUid, containerId),
      child.pid,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid, podUid, containerId, stop };
}
