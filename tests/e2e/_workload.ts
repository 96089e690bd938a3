/**
 * Test helper for end-to-end tests, the node side: whether real cgroups can be created here (and the loud
 * skip when not), and real `sleep` processes moved into fresh kubepods cgroups (systemd naming on cgroup
 * v2, cgroupfs naming on v1), with the pod UID and container ID the cgroup path names.
 *
 * @module
 */

import { randomContainerId } from "../../src/demo/pods.ts";
import {
  type CgroupHierarchy,
  detectCgroupSupport,
  type KubepodsCgroup,
  kubepodsPath,
  placeInCgroup,
} from "../../src/testing/cgroups.ts";

/** Where real cgroups can be created, or why not. */
export interface CgroupSupport {
  /** The usable hierarchies; empty when skipped. */
  readonly hierarchies: CgroupHierarchy[];
  /** `false`, or the skip reason for `describe(…, { skip })`. */
  readonly skip: string | false;
}

/**
 * Detects real cgroup support; when there is none, prints the reason loudly on stderr.
 *
 * @param context Put before the reason in the printed line (e.g. the suite's name).
 * @returns The hierarchies, or the skip reason.
 */
export async function cgroupSupport(context = ""): Promise<CgroupSupport> {
  const support = await detectCgroupSupport();
  if (typeof support !== "string") return { hierarchies: support, skip: false };
  const skip = `SKIPPED (real cgroups unavailable): ${support}`;
  console.error(`\n*** ${context}${skip} ***\n`);
  return { hierarchies: [], skip };
}

/** The kubepods cgroup path of a burstable container: systemd naming on v2, cgroupfs naming on v1. */
export function workloadCgroupPath(hierarchy: CgroupHierarchy, podUid: string, containerId: string): string {
  const driver = hierarchy.version === 2 ? "systemd" : "cgroupfs";
  return kubepodsPath(driver, "burstable", podUid, containerId);
}

/** Starts `sleep <seconds>` with no stdio. */
export function spawnSleep(seconds = 120): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: [String(seconds)], stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
}

/** SIGKILLs `child` (if still running) and waits until it is reaped. */
export async function kill(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
  await child.status;
}

/** A process in a kubepods cgroup. */
export interface Workload {
  /** Its PID. */
  readonly pid: number;
  /** The pod UID its cgroup path names. */
  readonly podUid: string;
  /** The container ID its cgroup path names. */
  readonly containerId: string;
  /** Its cgroup path, relative to the hierarchy root, as in `/proc/<pid>/cgroup`. */
  readonly cgroupPath: string;
  /** Kills the process and removes the cgroup. */
  stop(): Promise<void>;
}

/**
 * Starts `sleep 120` in a fresh burstable kubepods cgroup under `hierarchy`.
 *
 * @param hierarchy From {@linkcode cgroupSupport}.
 * @returns The workload; call `stop()` when done.
 */
export async function startWorkload(hierarchy: CgroupHierarchy): Promise<Workload> {
  const podUid = crypto.randomUUID();
  const containerId = randomContainerId();
  const child = spawnSleep();
  let cgroup: KubepodsCgroup | null = null;
  const stop = async () => {
    await kill(child);
    await cgroup?.remove();
  };
  try {
    cgroup = await placeInCgroup(hierarchy, workloadCgroupPath(hierarchy, podUid, containerId), child.pid);
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid, podUid, containerId, cgroupPath: cgroup.path, stop };
}
