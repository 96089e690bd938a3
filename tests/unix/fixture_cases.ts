/**
 * The fixture table: one row per directory of `tests/testdata/proc/<case>/proc/<pid>/{cgroup,mountinfo}`.
 * The IDs are random (fresh UUIDs and 64-hex values); each row states what the new locator and the legacy
 * locator must return for `pid`. `{root}` in a message stands for the case directory.
 *
 * @module
 */

import type { ErrorReason } from "../../src/errors.ts";

/** A successful location, as `locate` reports it. */
export interface ExpectedLocation {
  readonly podUid: string | null;
  readonly containerId: string | null;
}

/** An expected error: its reason and exact message. */
export interface ExpectedError {
  readonly reason: ErrorReason;
  readonly message: string;
}

/** One fixture directory and its expected outcomes. */
export interface FixtureCase {
  /** Directory name under `tests/testdata/proc/`. */
  readonly name: string;
  /** The PID queried. */
  readonly pid: number;
  /** What the layout is and why the outcome is right. */
  readonly description: string;
  /** Outcome of the new (default) locator. */
  readonly expected: ExpectedLocation | ExpectedError;
  /** Outcome of the legacy locator. */
  readonly legacy: ExpectedLocation | ExpectedError;
}

/** The error for a path that names a pod outside the kubelet's pod cgroups (default roots). */
function outsideMessage(path: string, fileLine: string, podUid: string): string {
  return `cgroup path "${path}" (${fileLine}) names pod ${podUid} but is not under the kubelet's pod cgroups ` +
    "(accepted kubelet cgroup roots: /, /kubelet, /kubepods); no identity is given to a process outside them. " +
    "If the kubelet runs with another --cgroup-root, set kubelet_cgroup_root";
}

/** Every fixture case. */
export const FIXTURE_CASES: readonly FixtureCase[] = [
  {
    name: "containerd-cgroupfs-v1-burstable",
    pid: 4242,
    description: "containerd, cgroupfs driver, cgroup v1 (12 controllers, rdma at /), Burstable",
    expected: {
      podUid: "7a3922dd-f245-418b-b786-b8773407c23a",
      containerId: "2013ae98df6739460cb987929e2c03b04c3fe5ac989aa48b4448af1728f0f508",
    },
    legacy: {
      podUid: "7a3922dd-f245-418b-b786-b8773407c23a",
      containerId: "2013ae98df6739460cb987929e2c03b04c3fe5ac989aa48b4448af1728f0f508",
    },
  },
  {
    name: "containerd-colon-v1-besteffort",
    pid: 1187,
    description: "containerd with the `:cri-containerd:<id>` cgroupsPath form, cgroup v1, BestEffort",
    expected: {
      podUid: "dd25ccb7-79c4-4556-baa1-9baa59c99892",
      containerId: "ad6946b1925b284483731a1e6fb876861b085f7110de0e6b5e906435b1ef1f88",
    },
    legacy: {
      podUid: "dd25ccb7-79c4-4556-baa1-9baa59c99892",
      containerId: "ad6946b1925b284483731a1e6fb876861b085f7110de0e6b5e906435b1ef1f88",
    },
  },
  {
    name: "containerd-systemd-v2-burstable",
    pid: 23817,
    description: "containerd, systemd driver, cgroup v2 (one 0:: line), Burstable",
    expected: {
      podUid: "fc6c5d03-1255-483e-a6d0-01ab85bee3c9",
      containerId: "f91c53a5735fdd6d6997c4b76fd630ed4f6b1b3487038565a36f8ca3803ad597",
    },
    legacy: {
      podUid: "fc6c5d03-1255-483e-a6d0-01ab85bee3c9",
      containerId: "f91c53a5735fdd6d6997c4b76fd630ed4f6b1b3487038565a36f8ca3803ad597",
    },
  },
  {
    name: "containerd-systemd-hybrid-guaranteed",
    pid: 777,
    description: "containerd, systemd driver, hybrid v1 + unified 0:: line, Guaranteed (no QoS slice)",
    expected: {
      podUid: "3380a025-7955-4e2a-af03-758a4a0b2e09",
      containerId: "fe30cc70bb5e15a75ee724226f035a2afe44c669252009635245233f215b85be",
    },
    legacy: {
      podUid: "3380a025-7955-4e2a-af03-758a4a0b2e09",
      containerId: "fe30cc70bb5e15a75ee724226f035a2afe44c669252009635245233f215b85be",
    },
  },
  {
    name: "crio-systemd-v2-besteffort",
    pid: 31337,
    description: "cri-o, systemd driver, cgroup v2, BestEffort (crio-<id>.scope)",
    expected: {
      podUid: "3302457a-9161-4115-b5a2-bf4dff9b195c",
      containerId: "d09d7d8c3df8b437bcc0a1faa6ea4a48d439a9c80a4a4ec28dae541f435a9313",
    },
    legacy: {
      podUid: "3302457a-9161-4115-b5a2-bf4dff9b195c",
      containerId: "d09d7d8c3df8b437bcc0a1faa6ea4a48d439a9c80a4a4ec28dae541f435a9313",
    },
  },
  {
    name: "crio-systemd-v1-burstable",
    pid: 5120,
    description: "cri-o, systemd driver, cgroup v1, Burstable",
    expected: {
      podUid: "f90f08e2-5cbb-45a8-b73b-0130ec94a881",
      containerId: "838685353c985b3209221ba555dcc9cc8d4b0d3555b2edc13185df00192bd07e",
    },
    legacy: {
      podUid: "f90f08e2-5cbb-45a8-b73b-0130ec94a881",
      containerId: "838685353c985b3209221ba555dcc9cc8d4b0d3555b2edc13185df00192bd07e",
    },
  },
  {
    name: "crio-conmon-pod-slice-v2",
    pid: 6001,
    description:
      "cri-o conmon (conmon_cgroup=pod): crio-conmon-<id>.scope in the pod slice reports that container",
    expected: {
      podUid: "97d1a955-5dba-476f-b04d-e64f2bfa90a3",
      containerId: "760f025c930c1f0db636893df15b1c514dbb81551e67136089e291930f41cd48",
    },
    legacy: {
      podUid: "97d1a955-5dba-476f-b04d-e64f2bfa90a3",
      containerId: "760f025c930c1f0db636893df15b1c514dbb81551e67136089e291930f41cd48",
    },
  },
  {
    name: "crio-conmon-system-slice-v1",
    pid: 6002,
    description:
      "cri-o conmon (conmon_cgroup=system.slice), cgroup v1: not under the kubelet's pod cgroups, so no container (upstream hits the order quirk here)",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "crio-no-pod-uid-v2",
    pid: 6003,
    description: "cri-o without a pod UID in the path (kubeedge), cgroup namespace relative path",
    expected: {
      podUid: null,
      containerId: "99802e440b4574c1921227bd7a9e452c72a0da247e1c3b57ae993978f77776c1",
    },
    legacy: { podUid: null, containerId: "99802e440b4574c1921227bd7a9e452c72a0da247e1c3b57ae993978f77776c1" },
  },
  {
    name: "docker-systemd-v1-burstable",
    pid: 2048,
    description: "dockershim, systemd driver, cgroup v1 (docker-<id>.scope), Burstable",
    expected: {
      podUid: "0d45e37f-3605-4db5-9a28-809332802997",
      containerId: "66fabf7f0f7f181afdb511f06a0f718270ebfb5922bfa09a36ee8ef79c7dac9b",
    },
    legacy: {
      podUid: "0d45e37f-3605-4db5-9a28-809332802997",
      containerId: "66fabf7f0f7f181afdb511f06a0f718270ebfb5922bfa09a36ee8ef79c7dac9b",
    },
  },
  {
    name: "docker-cgroupfs-v1-guaranteed",
    pid: 2049,
    description: "dockershim, cgroupfs driver, cgroup v1, Guaranteed (/kubepods/pod<uid>/<id>)",
    expected: {
      podUid: "4bd3f52e-01b2-4f64-87b0-a3b97b2b376b",
      containerId: "388d624cdc5ad6f54d54de9ca249376c156a0fb7257c57bcbb811689b6e43611",
    },
    legacy: {
      podUid: "4bd3f52e-01b2-4f64-87b0-a3b97b2b376b",
      containerId: "388d624cdc5ad6f54d54de9ca249376c156a0fb7257c57bcbb811689b6e43611",
    },
  },
  {
    name: "docker-plain-v1",
    pid: 2050,
    description:
      "a plain docker container outside Kubernetes (/docker/<id>): not under the kubelet's pod cgroups, not in a pod (upstream reports the ID without a pod and polls for it)",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "docker-for-desktop-v1-besteffort",
    pid: 2051,
    description: "Docker for Desktop (/kubepods/kubepods/besteffort/...)",
    expected: {
      podUid: "95bd14b3-c3b6-42b2-bfe5-eeae411b2bb6",
      containerId: "331def40ba02ea16fbc3047df4fa5133397dc376b81dbb2905664cc8448d036e",
    },
    legacy: {
      podUid: "95bd14b3-c3b6-42b2-bfe5-eeae411b2bb6",
      containerId: "331def40ba02ea16fbc3047df4fa5133397dc376b81dbb2905664cc8448d036e",
    },
  },
  {
    name: "kind-docker-nested-v1",
    pid: 8080,
    description:
      "kind: node container nests kubepods under /docker/<node-id>, which is the agent's own (proc/self/cgroup)",
    expected: {
      podUid: "5c925e1f-ac75-4811-a004-2bb1fc8f7382",
      containerId: "0e721d224d7817c50d2ff547a1007797ba7e09a654feaf868470ac9a83b79adb",
    },
    legacy: {
      podUid: "5c925e1f-ac75-4811-a004-2bb1fc8f7382",
      containerId: "0e721d224d7817c50d2ff547a1007797ba7e09a654feaf868470ac9a83b79adb",
    },
  },
  {
    name: "kind-macos-unified",
    pid: 8081,
    description:
      "kind on macOS: an extra 0::/docker/<node-id>/system.slice/containerd.service line is ignored",
    expected: {
      podUid: "d9831d23-7860-4d68-b5a7-24d8d4e5b25a",
      containerId: "387253262a7050acc91098d1e965e8260e3988449d1783ebb120bdb60955a612",
    },
    legacy: {
      podUid: "d9831d23-7860-4d68-b5a7-24d8d4e5b25a",
      containerId: "387253262a7050acc91098d1e965e8260e3988449d1783ebb120bdb60955a612",
    },
  },
  {
    name: "kind-kubelet-cgroupfs-v2",
    pid: 8082,
    description: "kind with cgroup v2 and cgroupfs naming nested under /kubelet/kubepods",
    expected: {
      podUid: "8f8c0bce-e36c-4266-b83c-4dfca17e86fe",
      containerId: "75baab062adcad9a71b1c654df3c56c53361f6e74e51afed7fb02ff447971e1f",
    },
    legacy: {
      podUid: "8f8c0bce-e36c-4266-b83c-4dfca17e86fe",
      containerId: "75baab062adcad9a71b1c654df3c56c53361f6e74e51afed7fb02ff447971e1f",
    },
  },
  {
    name: "kind-kubelet-systemd-v2",
    pid: 8083,
    description: "kind with cgroup v2 and systemd naming nested under kubelet.slice",
    expected: {
      podUid: "9d2810c3-7ec8-47f8-b0f4-c9b05448726e",
      containerId: "1c2ed490b5362969378b4aef0282569e9bbf28ed6feb1ec10fd56d7f386c9ba9",
    },
    legacy: {
      podUid: "9d2810c3-7ec8-47f8-b0f4-c9b05448726e",
      containerId: "1c2ed490b5362969378b4aef0282569e9bbf28ed6feb1ec10fd56d7f386c9ba9",
    },
  },
  {
    name: "cgroupns-v2-relative-pod",
    pid: 9001,
    description: "cgroup namespace: another pod seen from the agent's namespace (/../../pod<uid>/<id>)",
    expected: {
      podUid: "137685ac-5bb3-40ae-8bc2-db91075c033f",
      containerId: "c4ec6b910b9ec16f8d5725eb171e88010a65126e14fc49a7454e25ecafbc760c",
    },
    legacy: {
      podUid: "137685ac-5bb3-40ae-8bc2-db91075c033f",
      containerId: "c4ec6b910b9ec16f8d5725eb171e88010a65126e14fc49a7454e25ecafbc760c",
    },
  },
  {
    name: "cgroupns-v2-relative-qos",
    pid: 9002,
    description: "cgroup namespace: relative path through the QoS level (/../../../burstable/pod<uid>/<id>)",
    expected: {
      podUid: "665c1cdc-9d47-4823-a99a-28ae1a0c1996",
      containerId: "564b653b1fbf925144428cfc474bfc23c2758c26ee66b78d6cb4acd41cdb68e1",
    },
    legacy: {
      podUid: "665c1cdc-9d47-4823-a99a-28ae1a0c1996",
      containerId: "564b653b1fbf925144428cfc474bfc23c2758c26ee66b78d6cb4acd41cdb68e1",
    },
  },
  {
    name: "cgroupns-v2-mountinfo-fallback",
    pid: 9003,
    description: "cgroup namespace: the cgroup file says 0::/, the cgroup2 mount root names the container",
    expected: {
      podUid: "244ca862-3d6a-470f-a2df-1e5251dbce98",
      containerId: "b3c190d25cdf4151a0aa8f4d5895177aea1114df38377d8cbcf883fd32c79c03",
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "cgroupns-v2-agent-itself",
    pid: 9004,
    description:
      "the agent in its own cgroup namespace: 0::/ and a cgroup2 mount at / (skipped) give no container",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "cgroupns-v1-mountinfo-fallback-systemd",
    pid: 9005,
    description:
      "cgroup v1 inside a namespace: every controller at /, v1 mounts name the container (systemd naming); a cgroup2 mount at / is skipped",
    expected: {
      podUid: "dddbf7b2-50e1-4a63-8004-bec69ea2bec3",
      containerId: "8fb7e2353d8d7006d937f3b6620f8e93308f3d96cab98db15272d3f2b3d56a33",
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-no-cgroup-mount",
    pid: 9006,
    description: "cgroup 0::/ and no cgroup mount at all",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-container-id-conflict",
    pid: 9007,
    description: "fallback: two cgroup mounts with different container IDs",
    expected: {
      reason: "id-conflict",
      message:
        'multiple container IDs found ("f84953069c9a74374b4dd66b3f4141bc39f23482336d31e302685ad7c6d2f556", "8d634eae1c5efdc6b0256bc029b46e246bfc3968d726f5174c61119ce910b3f4")',
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-pod-uid-conflict",
    pid: 9008,
    description: "fallback: two cgroup mounts with different pod UIDs",
    expected: {
      reason: "id-conflict",
      message:
        'multiple pod UIDs found ("663ca556-50a7-43b3-8b14-4159cc637e7b", "20178e10-8d4d-4790-a4c1-9f13eb92a218")',
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-empty-source-and-blank-lines",
    pid: 9009,
    description: "fallback: a tmpfs with an empty source (two spaces) and blank lines are tolerated",
    expected: {
      podUid: "3704d985-3d10-4a58-a354-72332b4c11f5",
      containerId: "e310f9249d6163a2a17ef14f5ffb94ab92aa24eb3a57203237937b12390993d2",
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-forged-by-host-process",
    pid: 9300,
    description:
      "a host login session forges a pod's cgroup bind mount in a user namespace: its cgroup path names no container and is not /, so mountinfo is not consulted",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-impersonation",
    pid: 9100,
    description:
      "a workload bind-mounts another pod's cgroup: the kernel-written cgroup file wins, mountinfo is not read",
    expected: {
      podUid: "c2d69b9b-d87e-4332-9c3b-2679b1107d0e",
      containerId: "976bdca932b57d9d83cd08760e5e0d188502557fa23fdff1f33f0178627c2e29",
    },
    legacy: {
      podUid: "c2d69b9b-d87e-4332-9c3b-2679b1107d0e",
      containerId: "976bdca932b57d9d83cd08760e5e0d188502557fa23fdff1f33f0178627c2e29",
    },
  },
  {
    name: "mountinfo-impersonation-same-pod",
    pid: 9101,
    description: "forged mount of a sibling container in the same pod: still the cgroup file's container",
    expected: {
      podUid: "a01ab5d1-38d9-403a-a2cd-8a10b6fb9f8c",
      containerId: "cb40edfe72ad077f871ca1ea2c3fec4597ba2880cd2599fdbee8c1a48332cb05",
    },
    legacy: {
      podUid: "a01ab5d1-38d9-403a-a2cd-8a10b6fb9f8c",
      containerId: "cb40edfe72ad077f871ca1ea2c3fec4597ba2880cd2599fdbee8c1a48332cb05",
    },
  },
  {
    name: "mountinfo-ignored-when-cgroup-has-id",
    pid: 9102,
    description: "mountinfo is garbage but never read because the cgroup file gave a container ID",
    expected: {
      podUid: "c1a6d766-4abf-4b40-abbe-d4b5ef924382",
      containerId: "2cc26ffb007d113c3ca775c82b74cc06370822ac36e88918585427808885df06",
    },
    legacy: {
      podUid: "c1a6d766-4abf-4b40-abbe-d4b5ef924382",
      containerId: "2cc26ffb007d113c3ca775c82b74cc06370822ac36e88918585427808885df06",
    },
  },
  {
    name: "host-process-v2",
    pid: 100,
    description: "a login session on the host (cgroup v2)",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "host-process-v1",
    pid: 101,
    description: "a host daemon on cgroup v1",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "agent-host-service-hybrid",
    pid: 102,
    description: "the agent itself as a host systemd service (hybrid v1 + unified)",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "cgroup-empty-file",
    pid: 103,
    description: "an empty cgroup file and a cgroup2 mount at /",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "no-cgroup-file",
    pid: 200,
    description:
      "no cgroup file: not in a container for the new locator (mountinfo, which names a pod, is not trusted), legacy fails",
    expected: { podUid: null, containerId: null },
    legacy: {
      reason: "malformed-input",
      message: 'unable to obtain cgroups: open "{root}/proc/200/cgroup": no such file or directory',
    },
  },
  {
    name: "empty-proc-dir",
    pid: 201,
    description: "the process directory exists but has neither file",
    expected: { podUid: null, containerId: null },
    legacy: {
      reason: "malformed-input",
      message: 'unable to obtain cgroups: open "{root}/proc/201/cgroup": no such file or directory',
    },
  },
  {
    name: "missing-pid",
    pid: 31999,
    description: "querying a PID that has no directory (only PID 1 exists)",
    expected: {
      reason: "process-gone",
      message: 'process 31999 does not exist (no directory "{root}/proc/31999")',
    },
    legacy: {
      reason: "process-gone",
      message: 'process 31999 does not exist (no directory "{root}/proc/31999")',
    },
  },
  {
    name: "conflict-pod-uid",
    pid: 300,
    description: "two cgroup lines name different pods",
    expected: {
      reason: "id-conflict",
      message:
        'multiple pod UIDs found ("529b92fd-b202-465d-8b25-1707cbf3e651", "ad96bc09-0ab7-4e23-bfec-8d4f46bf1602")',
    },
    legacy: {
      reason: "id-conflict",
      message:
        "multiple pod UIDs found in cgroups (529b92fd-b202-465d-8b25-1707cbf3e651, ad96bc09-0ab7-4e23-bfec-8d4f46bf1602)",
    },
  },
  {
    name: "conflict-container-id",
    pid: 301,
    description: "two cgroup lines name different containers of one pod",
    expected: {
      reason: "id-conflict",
      message:
        'multiple container IDs found ("1bae5993cfbb7c1982a2c185b5f8ad5664fc256045f73ced3d79036a56e01193", "d89eb552adda8d3a3d6db83804dd2a9c427de49d7163b0dc2b02fd475b2a1a82")',
    },
    legacy: {
      reason: "id-conflict",
      message:
        "multiple container IDs found in cgroups (1bae5993cfbb7c1982a2c185b5f8ad5664fc256045f73ced3d79036a56e01193, d89eb552adda8d3a3d6db83804dd2a9c427de49d7163b0dc2b02fd475b2a1a82)",
    },
  },
  {
    name: "quirk-id-then-root",
    pid: 302,
    description:
      "upstream's order quirk (/docker/<id> then /) cannot arise: /docker/<id> is outside the kubelet's pod cgroups",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "quirk-root-then-id",
    pid: 303,
    description: "/ then /docker/<id>: outside the kubelet's pod cgroups, not in a pod",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "pod-uid-override",
    pid: 304,
    description: "an entry with a pod UID replaces an earlier one without",
    expected: {
      podUid: "d684028e-069d-400e-b202-5f5caaafe3cf",
      containerId: "722a72e24787d9a0aa8435db1c817cd1e0ef6dca00d0914bfe07cbcba476922c",
    },
    legacy: {
      podUid: "d684028e-069d-400e-b202-5f5caaafe3cf",
      containerId: "722a72e24787d9a0aa8435db1c817cd1e0ef6dca00d0914bfe07cbcba476922c",
    },
  },
  {
    name: "legacy-pod-uid-vs-empty",
    pid: 305,
    description:
      "same container with and without a pod UID: new ignores the UID-less line, legacy reports a pod UID conflict",
    expected: {
      podUid: "4dea5cfe-4bbe-4210-b6d4-c34f7e790949",
      containerId: "8a62b1ceb91efe0cf7aa8bcf21d82324d05bce95cf164d1bcbd7ca154be7069e",
    },
    legacy: {
      reason: "id-conflict",
      message: "multiple pod UIDs found in cgroups (4dea5cfe-4bbe-4210-b6d4-c34f7e790949, )",
    },
  },
  {
    name: "static-pod-32hex",
    pid: 400,
    description: "static pod with a 32-hex (config hash) UID: new ignores it, legacy extracts it",
    expected: {
      podUid: null,
      containerId: "7ecc73a5a3c9090adeabb9c3757ddac5d2c21d352f975168c64858220b78b014",
    },
    legacy: {
      podUid: "37810c7cf7aec64b687ac8d8c43aefef",
      containerId: "7ecc73a5a3c9090adeabb9c3757ddac5d2c21d352f975168c64858220b78b014",
    },
  },
  {
    name: "static-pod-crio-both-legacy-rules",
    pid: 401,
    description: "static pod under cri-o: both legacy rules match, so legacy ignores the path",
    expected: {
      podUid: null,
      containerId: "626164b216c4bb2dbda6e5df120e51efc283e9a5022a53b31cc9e504d8726721",
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "uppercase-hex",
    pid: 402,
    description: "hex case is preserved, never lower-cased",
    expected: {
      podUid: "4A3BAB1C-11B7-49DA-A521-EBCFA74C1511",
      containerId: "AB0D3DF418169A9B24EE16A1497E16350aaba352db87864b77a57b2c87e7442b",
    },
    legacy: {
      podUid: "4A3BAB1C-11B7-49DA-A521-EBCFA74C1511",
      containerId: "AB0D3DF418169A9B24EE16A1497E16350aaba352db87864b77a57b2c87e7442b",
    },
  },
  {
    name: "hex-run-65",
    pid: 403,
    description: "a 65-hex run is not a container ID",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "trailing-slash",
    pid: 404,
    description: "a trailing / ends the segment walk at once",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "double-slash",
    pid: 405,
    description: "a // in the path: the kernel never writes one, so the path is not a kubelet layout",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "crlf-line-endings",
    pid: 406,
    description: "CRLF line endings: one trailing \\r per line is dropped",
    expected: {
      podUid: "35bd34e9-6122-47d2-aafd-16dccb73b812",
      containerId: "b3ecda48a273f1f586d448cb54430a44ed37e68e8d9d9fc44db7c13c71935e53",
    },
    legacy: {
      podUid: "35bd34e9-6122-47d2-aafd-16dccb73b812",
      containerId: "b3ecda48a273f1f586d448cb54430a44ed37e68e8d9d9fc44db7c13c71935e53",
    },
  },
  {
    name: "malformed-empty-line",
    pid: 500,
    description: "an empty line in the middle of the cgroup file",
    expected: {
      reason: "malformed-input",
      message:
        'unable to obtain cgroups: "{root}/proc/500/cgroup" line 2: invalid cgroup entry, contains 1 colon separated fields but expected at least 3: ""',
    },
    legacy: {
      reason: "malformed-input",
      message:
        'unable to obtain cgroups: "{root}/proc/500/cgroup" line 2: invalid cgroup entry, contains 1 colon separated fields but expected at least 3: ""',
    },
  },
  {
    name: "malformed-too-few-colons",
    pid: 501,
    description: "a cgroup line with one colon",
    expected: {
      reason: "malformed-input",
      message:
        'unable to obtain cgroups: "{root}/proc/501/cgroup" line 3: invalid cgroup entry, contains 2 colon separated fields but expected at least 3: "5:devices"',
    },
    legacy: {
      reason: "malformed-input",
      message:
        'unable to obtain cgroups: "{root}/proc/501/cgroup" line 3: invalid cgroup entry, contains 2 colon separated fields but expected at least 3: "5:devices"',
    },
  },
  {
    name: "malformed-mountinfo-no-separator",
    pid: 502,
    description: "mountinfo line without the - separator (read because the cgroup file is 0::/)",
    expected: {
      reason: "malformed-input",
      message:
        'failed to parse mount info at "{root}/proc/502/mountinfo": line 2: missing separator in mountinfo line: 1902 1901 0:318 / /proc rw,nosuid,nodev,noexec,relatime proc proc rw',
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "malformed-mountinfo-few-fields",
    pid: 503,
    description: "mountinfo line with fewer than 6 fields before the separator",
    expected: {
      reason: "malformed-input",
      message:
        'failed to parse mount info at "{root}/proc/503/mountinfo": line 1: expected at least 6 fields before separator in mountinfo line: 25 1 0:23 / - cgroup2 cgroup2 rw',
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "malformed-mountinfo-no-fstype",
    pid: 504,
    description: "mountinfo line with nothing after the separator",
    expected: {
      reason: "malformed-input",
      message:
        'failed to parse mount info at "{root}/proc/504/mountinfo": line 3: missing filesystem type in mountinfo line: 30 25 0:26 / /sys/fs/cgroup rw,relatime shared:4 -  ',
    },
    legacy: { podUid: null, containerId: null },
  },

  // Identity-safety cases (issue 9): paths a node user can create in a delegated cgroup subtree, and the
  // mountinfo fallback from a user namespace. None may yield the pod's identity.
  {
    name: "forged-delegated-systemd-layout",
    pid: 4001,
    description:
      "uid 65534 recreates a pod's systemd layout inside its user@.service subtree: refused, it is not under the kubelet's pod cgroups",
    expected: {
      reason: "outside-pod-cgroups",
      message: outsideMessage(
        "/user.slice/user-65534.slice/user@65534.service/app.slice/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8e0c58f3_5a51_4a36_9a5d_6c1f6f2b8a11.slice/cri-containerd-5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b.scope",
        "{root}/proc/4001/cgroup:1",
        "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      ),
    },
    legacy: {
      reason: "outside-pod-cgroups",
      message: outsideMessage(
        "/user.slice/user-65534.slice/user@65534.service/app.slice/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8e0c58f3_5a51_4a36_9a5d_6c1f6f2b8a11.slice/cri-containerd-5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b.scope",
        "{root}/proc/4001/cgroup:1",
        "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      ),
    },
  },
  {
    name: "forged-delegated-cgroupfs-layout",
    pid: 4002,
    description: "a delegated subtree with .../evil/pod<uid>/<id> on every hierarchy: refused",
    expected: {
      reason: "outside-pod-cgroups",
      message: outsideMessage(
        "/user.slice/user-65534.slice/user@65534.service/evil/pod8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "{root}/proc/4002/cgroup:1",
        "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      ),
    },
    legacy: {
      reason: "outside-pod-cgroups",
      message: outsideMessage(
        "/user.slice/user-65534.slice/user@65534.service/evil/pod8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "{root}/proc/4002/cgroup:1",
        "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      ),
    },
  },
  {
    name: "forged-delegated-crio-scope",
    pid: 4003,
    description:
      "a delegated subtree with crio-<id>.scope (no pod UID): outside the kubelet's pod cgroups, so not in a container (upstream matched the ID across all pods)",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "forged-below-container",
    pid: 4004,
    description:
      "a container that manages its own cgroup subtree nests another pod's layout below its own: only the container position counts",
    expected: {
      podUid: "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      containerId: "5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    },
    legacy: {
      reason: "id-conflict",
      message:
        'cgroup path "/kubepods/besteffort/pod8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b/kubepods/besteffort/pod11111111-2222-4333-8444-555555555555/0000000000000000000000000000000000000000000000000000000000000001" ({root}/proc/4004/cgroup:1): the legacy patterns find pod "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11" and container 0000000000000000000000000000000000000000000000000000000000000001, but the kubelet layout has pod "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11" and container 5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b',
    },
  },
  {
    name: "forged-relative-delegated",
    pid: 4005,
    description:
      "seen from the agent's cgroup namespace, a delegated subtree under /user.slice: what follows the .. run is not a kubelet layout",
    expected: {
      reason: "outside-pod-cgroups",
      message: outsideMessage(
        "/../../../../user.slice/user-65534.slice/user@65534.service/kubepods/besteffort/pod8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "{root}/proc/4005/cgroup:1",
        "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      ),
    },
    legacy: {
      reason: "outside-pod-cgroups",
      message: outsideMessage(
        "/../../../../user.slice/user-65534.slice/user@65534.service/kubepods/besteffort/pod8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "{root}/proc/4005/cgroup:1",
        "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      ),
    },
  },
  {
    name: "unknown-container-segment",
    pid: 4006,
    description:
      "a pod cgroup whose container segment is not <runtime>-<64 hex>[.scope]: refused, naming the pod",
    expected: {
      reason: "outside-pod-cgroups",
      message: outsideMessage(
        "/kubepods/besteffort/pod8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b.service",
        "{root}/proc/4006/cgroup:1",
        "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      ),
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-forged-in-user-namespace",
    pid: 4100,
    description:
      "cgroup 0::/ and a pod's cgroup bind-mounted from an unprivileged user namespace: mountinfo is not consulted outside PID 1's user namespace",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-init-namespace-unreadable",
    pid: 4100,
    description:
      "PID 1's user namespace cannot be read (some sandboxes deny it even to root): the identity uid_map alone admits the fallback",
    expected: {
      podUid: "244ca862-3d6a-470f-a2df-1e5251dbce98",
      containerId: "b3c190d25cdf4151a0aa8f4d5895177aea1114df38377d8cbcf883fd32c79c03",
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-partial-uid-map",
    pid: 4100,
    description:
      "a user namespace with a subuid range (newuidmap) and the same ns link as nobody to compare with: not the initial namespace, mountinfo not consulted",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "mountinfo-no-uid-map",
    pid: 4100,
    description: "the process's uid_map cannot be read: mountinfo not consulted (fail closed)",
    expected: { podUid: null, containerId: null },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "kind-docker-nested-systemd-v1",
    pid: 8084,
    description:
      "kind on cgroup v1: the node container /docker/<id> in front of kind's /kubelet root, systemd naming",
    expected: {
      podUid: "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      containerId: "5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    },
    legacy: {
      podUid: "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      containerId: "5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    },
  },
  {
    name: "cgroupns-v2-relative-systemd-qos",
    pid: 9006,
    description: "cgroup namespace, systemd naming: relative path through the QoS slice",
    expected: {
      podUid: "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      containerId: "5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    },
    legacy: {
      podUid: "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      containerId: "5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    },
  },
  {
    name: "container-subcgroup",
    pid: 4007,
    description: "a process in a sub-cgroup its container created (init.scope): the container's identity",
    expected: {
      podUid: "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      containerId: "5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    },
    legacy: { podUid: null, containerId: null },
  },
  {
    name: "forged-other-docker-container",
    pid: 4008,
    description:
      "a docker container (not the agent's own node container) whose writable cgroup nests a pod's layout: refused",
    expected: {
      reason: "outside-pod-cgroups",
      message: outsideMessage(
        "/docker/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/kubepods/besteffort/pod8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "{root}/proc/4008/cgroup:1",
        "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      ),
    },
    legacy: {
      reason: "outside-pod-cgroups",
      message: outsideMessage(
        "/docker/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/kubepods/besteffort/pod8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "{root}/proc/4008/cgroup:1",
        "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      ),
    },
  },
  {
    name: "forged-legacy-pod-below-container",
    pid: 4009,
    description:
      "a container nests --/pod<other>/<own id> below its own cgroup: the legacy pattern would read the other pod's UID; refused",
    expected: {
      podUid: "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11",
      containerId: "5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    },
    legacy: {
      reason: "id-conflict",
      message:
        'cgroup path "/kubepods/besteffort/pod8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b/--/pod11111111-2222-4333-8444-555555555555/5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b" ({root}/proc/4009/cgroup:1): the legacy patterns find pod "11111111-2222-4333-8444-555555555555" and container 5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b, but the kubelet layout has pod "8e0c58f3-5a51-4a36-9a5d-6c1f6f2b8a11" and container 5f0b9c2e7d4a3b1c8e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b',
    },
  },
];
