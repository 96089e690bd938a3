/**
 * Container locator parsing cost: parse + extract + merge of a typical cgroup v1 file (13 lines) and a v2 file
 * (1 line), against `text.split("\n")` of the same input as the baseline in the same run. Also the legacy
 * matchers and a typical container mountinfo (fallback path).
 *
 * Run: `deno bench -A bench/locator_bench.ts`
 */
import { parseCgroupFile } from "../src/platform/unix/cgroup.ts";
import { createPathExtractor, IdMerger } from "../src/platform/unix/extract.ts";
import { legacyMatchPath, LegacyMerger } from "../src/platform/unix/legacy.ts";
import { isCandidateCgroupMount, parseMountinfo } from "../src/platform/unix/mountinfo.ts";

const UID = "5b7e9c1d-3f5a-4b7c-9d1e-3f5a7b9c1d3e";
const CID = "8e3f1a5c7b9d2e4f6a8c0b2d4f6e8a0c1b3d5f7e9a2c4e6f8b0d2f4a6c8e0b2d";
const SYSTEMD = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${
  UID.replaceAll("-", "_")
}.slice/cri-containerd-${CID}.scope`;
const CONTROLLERS = [
  "12:hugetlb",
  "11:memory",
  "10:perf_event",
  "9:cpuset",
  "8:pids",
  "7:freezer",
  "6:net_cls,net_prio",
  "5:devices",
  "4:blkio",
  "3:rdma",
  "2:cpu,cpuacct",
  "1:name=systemd",
];
const V1 = CONTROLLERS.map((c) => `${c}:${c === "3:rdma" ? "/" : SYSTEMD}`).join("\n") + `\n0::${SYSTEMD}\n`;
const V2 = `0::${SYSTEMD}\n`;
const MOUNTINFO = [
  "1901 1780 0:312 / / rw,relatime master:612 - overlay overlay rw,lowerdir=/l/A:/l/B,upperdir=/u,workdir=/w",
  "1902 1901 0:318 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
  "1903 1901 0:319 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755",
  "1904 1903 0:320 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666",
  "1905 1901 0:321 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro",
  `1906 1905 0:30 ${SYSTEMD} /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate`,
  "1930 1901 259:1 /var/lib/kubelet/pods/x/etc-hosts /etc/hosts rw,relatime - ext4 /dev/nvme0n1p1 rw",
  "1931 1903 0:311 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k",
].join("\n") + "\n";

if (V1.split("\n").length - 1 !== 13) throw new Error("the v1 sample must have 13 lines");

function locateNew(text: string): string {
  const m = new IdMerger();
  const extract = createPathExtractor(); // one per file, as the locator does
  for (const e of parseCgroupFile(text, "/proc/1/cgroup")) m.add(extract(e.path));
  if (m.containerId !== CID) throw new Error("wrong result");
  return m.containerId;
}

function locateLegacy(text: string): string {
  const m = new LegacyMerger();
  for (const e of parseCgroupFile(text, "/proc/1/cgroup")) {
    const r = legacyMatchPath(e.path);
    if (r.kind === "match") m.add(r.podUid, r.containerId);
  }
  if (m.containerId !== CID) throw new Error("wrong result");
  return m.containerId;
}

function locateMountinfo(text: string): string {
  const m = new IdMerger();
  const extract = createPathExtractor();
  for (const mount of parseMountinfo(text, "/proc/1/mountinfo")) {
    if (isCandidateCgroupMount(mount)) m.add(extract(mount.root));
  }
  if (m.containerId !== CID) throw new Error("wrong result");
  return m.containerId;
}

let sink = 0;
Deno.bench({ name: "v1 baseline: split", group: "cgroup v1 (13 lines)", baseline: true }, () => {
  sink += V1.split("\n").length;
});
Deno.bench({ name: "v1 new locator: parse + extract + merge", group: "cgroup v1 (13 lines)" }, () => {
  sink += locateNew(V1).length;
});
Deno.bench({ name: "v1 legacy locator: parse + match + merge", group: "cgroup v1 (13 lines)" }, () => {
  sink += locateLegacy(V1).length;
});
Deno.bench({ name: "v2 baseline: split", group: "cgroup v2 (1 line)", baseline: true }, () => {
  sink += V2.split("\n").length;
});
Deno.bench({ name: "v2 new locator: parse + extract + merge", group: "cgroup v2 (1 line)" }, () => {
  sink += locateNew(V2).length;
});
Deno.bench({ name: "v2 legacy locator: parse + match + merge", group: "cgroup v2 (1 line)" }, () => {
  sink += locateLegacy(V2).length;
});
Deno.bench({ name: "mountinfo baseline: split", group: "mountinfo (8 mounts)", baseline: true }, () => {
  sink += MOUNTINFO.split("\n").length;
});
Deno.bench({ name: "mountinfo fallback: parse + extract + merge", group: "mountinfo (8 mounts)" }, () => {
  sink += locateMountinfo(MOUNTINFO).length;
});
globalThis.addEventListener("unload", () => {
  if (sink === 0) console.log("unreachable");
});
