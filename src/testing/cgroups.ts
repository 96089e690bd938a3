/**
 * Real kubepods-style cgroups for end-to-end tests and the demo: creates the directories a kubelet would
 * (cgroupfs naming under a cgroup v1 hierarchy, or systemd naming under the v2 unified hierarchy), moves a
 * process into the leaf, and removes everything again. Only works as root on a writable cgroupfs; callers
 * check {@linkcode detectCgroupSupport} first and skip (loudly) when it returns a reason.
 *
 * @module
 */

import { errorMessage } from "../errors.ts";

/** A cgroup hierarchy usable for placing processes. */
export interface CgroupHierarchy {
  /** The mount point, e.g. `/sys/fs/cgroup/unified` or `/sys/fs/cgroup/pids`. */
  readonly mountPoint: string;
  /** `1` for a v1 controller hierarchy, `2` for the unified hierarchy. */
  readonly version: 1 | 2;
}

/** A kubepods cgroup created for one container, and the process placed in it. */
export interface KubepodsCgroup {
  /** The hierarchy it was created in. */
  readonly hierarchy: CgroupHierarchy;
  /** The cgroup path relative to the hierarchy root, as it appears in `/proc/<pid>/cgroup`. */
  readonly path: string;
  /** Moves the process back to the hierarchy root and removes the created directories. Idempotent. */
  remove(): Promise<void>;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function fsType(mountPoint: string): Promise<string | null> {
  try {
    const mounts = await Deno.readTextFile("/proc/self/mounts");
    for (const line of mounts.split("\n")) {
      const fields = line.split(" ");
      if (fields[1] === mountPoint) return fields[2];
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * Finds the hierarchies where this process could create kubepods cgroups.
 *
 * @returns The usable hierarchies (v2 first), or a reason string when none can be used.
 */
export async function detectCgroupSupport(): Promise<CgroupHierarchy[] | string> {
  if (Deno.build.os !== "linux") return `cgroups need Linux (this is ${Deno.build.os})`;
  if (typeof Deno.uid === "function" && Deno.uid() !== 0) return "creating cgroups needs root";
  const candidates: CgroupHierarchy[] = [];
  for (
    const [mountPoint, version] of [["/sys/fs/cgroup/unified", 2], ["/sys/fs/cgroup", 2], [
      "/sys/fs/cgroup/pids",
      1,
    ]] as const
  ) {
    const type = await fsType(mountPoint);
    if ((version === 2 && type === "cgroup2") || (version === 1 && type === "cgroup")) {
      candidates.push({ mountPoint, version });
    }
  }
  if (candidates.length === 0) {
    return "no cgroup2 or cgroup v1 pids hierarchy is mounted under /sys/fs/cgroup";
  }
  const usable: CgroupHierarchy[] = [];
  const reasons: string[] = [];
  for (const h of candidates) {
    const probe = `${h.mountPoint}/k8s-attestor-probe-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await Deno.mkdir(probe);
      await Deno.remove(probe);
      usable.push(h);
    } catch (err) {
      reasons.push(`${h.mountPoint}: ${errorMessage(err)}`);
    }
  }
  return usable.length > 0 ? usable : `cannot create cgroups (${reasons.join("; ")})`;
}

/** How the kubelet names pod cgroups. */
export type CgroupDriver = "cgroupfs" | "systemd";

/**
 * Builds the kubepods path of a container the way the kubelet and containerd do, under the kubelet's
 * `--cgroup-root` (cgroupfs form; the systemd driver renders `/a/b` as `a.slice/a-b.slice`).
 *
 * @example systemd driver
 * ```ts
 * import assert from "node:assert/strict";
 * import { kubepodsPath } from "./cgroups.ts";
 * const p = kubepodsPath("systemd", "burstable", "0d8f6f6a-1b2c-4d5e-8f90-123456789abc", "ab".repeat(32));
 * assert.ok(p.startsWith("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0d8f6f6a_"));
 * assert.ok(p.endsWith(`/cri-containerd-${"ab".repeat(32)}.scope`));
 * const q = kubepodsPath("systemd", "guaranteed", "0d8f6f6a-1b2c-4d5e-8f90-123456789abc", "ab".repeat(32), "/kubelet");
 * assert.ok(q.startsWith("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod0d8f6f6a_"));
 * ```
 *
 * @param driver The cgroup driver.
 * @param qos `guaranteed`, `burstable` or `besteffort`.
 * @param podUid The pod UID (dashed).
 * @param containerId The 64-hex container ID.
 * @param cgroupRoot The kubelet's `--cgroup-root`. @default {"/"}
 * @returns The path relative to the hierarchy root, starting with `/`.
 */
export function kubepodsPath(
  driver: CgroupDriver,
  qos: "guaranteed" | "burstable" | "besteffort",
  podUid: string,
  containerId: string,
  cgroupRoot = "/",
): string {
  const root = cgroupRoot.split("/").filter((s) => s !== "");
  if (driver === "cgroupfs") {
    const base = ["", ...root, "kubepods"].join("/");
    return qos === "guaranteed"
      ? `${base}/pod${podUid}/${containerId}`
      : `${base}/${qos}/pod${podUid}/${containerId}`;
  }
  const uid = podUid.replaceAll("-", "_");
  const slices = root.map((_, i) => `${root.slice(0, i + 1).join("-")}.slice`);
  const kubepods = [...root, "kubepods"].join("-");
  slices.push(`${kubepods}.slice`);
  if (qos === "guaranteed") slices.push(`${kubepods}-pod${uid}.slice`);
  else slices.push(`${kubepods}-${qos}.slice`, `${kubepods}-${qos}-pod${uid}.slice`);
  return `/${slices.join("/")}/cri-containerd-${containerId}.scope`;
}

/**
 * Creates the cgroup `path` (all missing parents) in `hierarchy` and moves `pid` into it.
 *
 * @param hierarchy Where to create it (from {@linkcode detectCgroupSupport}).
 * @param path The path from {@linkcode kubepodsPath}.
 * @param pid The process to move.
 * @returns A handle whose `remove()` undoes everything.
 */
export async function placeInCgroup(
  hierarchy: CgroupHierarchy,
  path: string,
  pid: number,
): Promise<KubepodsCgroup> {
  const parts = path.split("/").filter((p) => p !== "");
  const created: string[] = [];
  let dir = hierarchy.mountPoint;
  for (const part of parts) {
    dir = `${dir}/${part}`;
    if (!(await isDir(dir))) {
      await Deno.mkdir(dir);
      created.push(dir);
    }
  }
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    try {
      await Deno.writeTextFile(`${hierarchy.mountPoint}/cgroup.procs`, `${pid}\n`);
    } catch {
      // the process may have exited already; an exited process leaves its cgroup on its own
    }
    for (const d of created.reverse()) {
      for (let i = 0; i < 50; i++) {
        try {
          await Deno.remove(d);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20)); // the kernel frees a cgroup shortly after its last task
        }
      }
    }
  };
  try {
    await Deno.writeTextFile(`${dir}/cgroup.procs`, `${pid}\n`);
  } catch (err) {
    await remove();
    throw err;
  }
  return { hierarchy, path: `/${parts.join("/")}`, remove };
}
