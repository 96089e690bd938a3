/**
 * Synthetic nodes for the benchmarks: a kubelet `/pods` body of any number of pods, built from the pods of
 * tests/testdata/pods/node_pods.json (real kubelet shapes, ~2 KiB a pod) with fresh UIDs and container IDs,
 * and a proc root in which made-up PIDs sit in the cgroups of some of those pods' containers.
 *
 * @module
 */

import { join } from "node:path";
import { kubepodsPath } from "../../src/testing/cgroups.ts";
import { procStatLine } from "../../src/testing/fake_proc.ts";

/** The node name of every synthetic pod (the template's). */
export const NODE_NAME = "node-a";

/** A workload process of a synthetic node. */
export interface Workload {
  /** The made-up PID (a directory in the proc root). */
  readonly pid: number;
  /** Its pod's UID. */
  readonly podUid: string;
  /** Its container's ID (64 hex). */
  readonly containerId: string;
}

/** A synthetic node's pod list. */
export interface SyntheticNode {
  /** The `/pods` body (JSON). */
  readonly body: string;
  /** Number of pods. */
  readonly pods: number;
  /** The workload processes (in pods spread over the list, the last one in the last pod of its kind). */
  readonly workloads: readonly Workload[];
}

const TEMPLATE = JSON.parse(
  Deno.readTextFileSync(new URL("../../tests/testdata/pods/node_pods.json", import.meta.url)),
) as { items: Record<string, unknown>[] };
/** The template pod the workloads run in (a ReplicaSet pod with a sidecar and an init container). */
const WORKLOAD_TEMPLATE = 0;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** A deterministic, valid pod UID for pod `i` of list `seed`. */
function podUid(seed: number, i: number): string {
  return `${hex(i, 8)}-${hex(seed & 0xffff, 4)}-4000-8000-${hex(i * 7919, 12)}`;
}

/**
 * Builds a pod list of `pods` pods with `workloads` workload processes (PIDs from `firstPid`) in pods spread
 * evenly over the list (always including the last pod of the workload template), so a lookup cannot be
 * fast just because the pod comes first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syntheticNode } from "./pods.ts";
 * const node = syntheticNode(20, 2);
 * const list = JSON.parse(node.body);
 * assert.equal(list.items.length, 20);
 * assert.equal(node.workloads.length, 2);
 * assert.ok(node.body.includes(node.workloads[1].containerId));
 * ```
 *
 * @param pods Number of pods (at least 1).
 * @param workloads Number of workload processes (1 ≤ workloads ≤ pods / 9, or 1).
 * @param firstPid The first workload PID.
 * @param seed Varies the UIDs and container IDs between lists.
 * @returns The body and the workloads.
 */
export function syntheticNode(pods: number, workloads = 1, firstPid = 4242, seed = 1): SyntheticNode {
  const kinds = TEMPLATE.items.length;
  const slots = Math.max(1, Math.floor((pods - 1 - WORKLOAD_TEMPLATE) / kinds) + 1); // pods of the template
  const count = Math.max(1, Math.min(workloads, slots));
  // Workload pod indexes: template pods spread over the list, the last one included.
  const at = new Set<number>();
  for (let w = 0; w < count; w++) {
    const slot = count === 1 ? slots - 1 : Math.round((w * (slots - 1)) / (count - 1));
    at.add(WORKLOAD_TEMPLATE + slot * kinds);
  }
  const found: Workload[] = [];
  const items = Array.from({ length: pods }, (_, i) => {
    const pod = structuredClone(TEMPLATE.items[i % kinds]);
    const metadata = pod.metadata as { uid: string; name: string };
    metadata.uid = podUid(seed, i);
    metadata.name = `${metadata.name}-${i}`;
    const status = pod.status as Record<string, { containerID?: string }[] | undefined>;
    let c = 0;
    for (const key of ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]) {
      for (const s of status[key] ?? []) {
        if (s.containerID) {
          s.containerID = `containerd://${hex(seed, 8)}${hex(i, 8)}${hex(c++, 8)}${"ab".repeat(20)}`;
        }
      }
    }
    if (at.has(i)) {
      const cid = (status.containerStatuses![0].containerID as string).slice("containerd://".length);
      found.push({ pid: firstPid + found.length, podUid: metadata.uid, containerId: cid });
    }
    return pod;
  });
  const body = JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: {}, items });
  return { body, pods, workloads: found };
}

/**
 * Builds a pod list of at least `bytes` bytes (for the large-list memory test).
 *
 * @param bytes The minimum body size.
 * @param firstPid The workload PID.
 * @param seed Varies the IDs.
 * @returns A node with one workload.
 */
export function syntheticNodeOfSize(bytes: number, firstPid = 4242, seed = 2): SyntheticNode {
  const sample = syntheticNode(TEMPLATE.items.length * 4, 1, firstPid, seed).body.length /
    (TEMPLATE.items.length * 4);
  let pods = Math.ceil(bytes / sample);
  let node = syntheticNode(pods, 1, firstPid, seed);
  while (node.body.length < bytes) {
    pods += Math.ceil((bytes - node.body.length) / sample) + 1;
    node = syntheticNode(pods, 1, firstPid, seed);
  }
  return node;
}

/**
 * Writes `/proc/<pid>/cgroup` (a systemd-driver besteffort kubepods path) and `/proc/<pid>/stat` for each
 * workload under `root`.
 *
 * @param root The proc root's parent (the plugin's `--proc-root`).
 * @param workloads The workloads.
 */
export async function writeProcRoot(root: string, workloads: readonly Workload[]): Promise<void> {
  for (const w of workloads) {
    const dir = join(root, "proc", String(w.pid));
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      join(dir, "cgroup"),
      `0::${kubepodsPath("systemd", "besteffort", w.podUid, w.containerId)}\n`,
    );
    await Deno.writeTextFile(join(dir, "stat"), `${procStatLine(w.pid, "workload", 100000 + w.pid)}\n`);
  }
}
