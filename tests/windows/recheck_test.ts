/**
 * The core's re-check on Windows, against the fake OS: the job-object locator reports the workload's
 * creation time, and after the pod list matched the core runs a second job lookup. While the "kubelet" is
 * being asked, the test changes the fake: the process exits, its PID goes to another process (inside or
 * outside the container job), or it ends up in a second container job. Runs on Linux and under Wine.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAttestCore } from "../../src/core/attest.ts";
import { AttestorError, type ErrorCode } from "../../src/errors.ts";
import { parsePodList } from "../../src/kubelet/pods.ts";
import type { PodListSource } from "../../src/core/types.ts";
import { nullLogger } from "../../src/log.ts";
import { JobContainerLocator } from "../../src/platform/windows/job_locator.ts";
import { defaultCreationTime, FakeWindows, ID_A, ID_B } from "./fake_winapi.ts";

const WORKLOAD = 42;
const VMCOMPUTE = 3;
const POD_UID = "0b5c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3";

const PODS = JSON.stringify({
  kind: "PodList",
  apiVersion: "v1",
  metadata: {},
  items: [{
    metadata: { name: "win-web-0", namespace: "shop", uid: POD_UID, labels: { app: "win-web" } },
    spec: {
      nodeName: "win-node-1",
      serviceAccountName: "win-web",
      containers: [{ name: "web", image: "mcr.example/web:ltsc2022" }],
    },
    status: {
      phase: "Running",
      containerStatuses: [{
        name: "web",
        image: "mcr.example/web:ltsc2022",
        imageID: "",
        containerID: `containerd://${ID_A}`,
        ready: true,
      }],
    },
  }],
});

/** The pod's and the `web` container's selectors, written out by hand. */
const WEB_SELECTORS = [
  "container-image:",
  "container-image:mcr.example/web:ltsc2022",
  "container-name:web",
  "node-name:win-node-1",
  "ns:shop",
  "pod-image-count:1",
  "pod-image:",
  "pod-image:mcr.example/web:ltsc2022",
  "pod-init-image-count:0",
  "pod-label:app:win-web",
  "pod-name:win-web-0",
  `pod-uid:${POD_UID}`,
  "sa:win-web",
].sort();

/** vmcompute holding the workload's container job (and an empty second container job). */
function host(): FakeWindows {
  return new FakeWindows({
    processes: [
      { pid: VMCOMPUTE, exe: "vmcompute.exe" },
      { pid: WORKLOAD, exe: "workload.exe" },
    ],
    objects: {
      jobA: { type: "Job", name: `\\Container_${ID_A}`, members: [WORKLOAD] },
      jobB: { type: "Job", name: `\\Container_${ID_B}`, members: [] },
    },
    handles: [
      { owner: VMCOMPUTE, handle: 0x14n, object: "jobA" },
      { owner: VMCOMPUTE, handle: 0x18n, object: "jobB" },
    ],
  });
}

/** The core over the fake, with a pod source that runs `duringFetch` while the kubelet is being asked. */
function coreOver(fake: FakeWindows, duringFetch: (fake: FakeWindows) => void = () => {}) {
  let version = 0;
  const pods: PodListSource = {
    fetchNext() {
      duringFetch(fake);
      return Promise.resolve(parsePodList(PODS, ++version));
    },
  };
  return createAttestCore({
    locator: new JobContainerLocator({ api: fake }),
    pods,
    logger: nullLogger,
    config: { maxPollAttempts: 3, disableContainerSelectors: false },
  });
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: string | RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AttestorError, `expected an AttestorError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

function exitProcess(fake: FakeWindows, pid: number): void {
  fake.processes.splice(fake.processes.findIndex((p) => p.pid === pid), 1);
  for (const o of Object.values(fake.objects)) o.members = o.members?.filter((m) => m !== pid);
}

const FIRST = defaultCreationTime(WORKLOAD);

describe("attest on Windows: the second job lookup after the pod list matched", () => {
  it("unchanged: exactly its selectors, two lookups, no handle left open", async () => {
    const fake = host();
    assert.deepEqual(await coreOver(fake).attest(WORKLOAD), WEB_SELECTORS);
    assert.equal(fake.calls.processCreationTime, 2, "one creation time per lookup");
    assert.equal(fake.calls.queryHandleTable, 2, "two job lookups");
    assert.equal(fake.openHandles, 0);
  });

  it("exited while the kubelet was asked → NOT_FOUND", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => exitProcess(f, WORKLOAD)).attest(WORKLOAD),
      "NOT_FOUND",
      `process ${WORKLOAD} could not be located again after its pod matched: failed to get container ID: ` +
        `failed to open child process: process ${WORKLOAD} does not exist (OpenProcess: The parameter is ` +
        `incorrect. (Win32 error 87))`,
    );
    assert.equal(fake.openHandles, 0);
  });

  it("PID given to a host process → FAILED_PRECONDITION naming both creation times", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => {
        exitProcess(f, WORKLOAD);
        f.processes.push({ pid: WORKLOAD, exe: "other.exe", created: FIRST + 5_000_000n });
      }).attest(WORKLOAD),
      "FAILED_PRECONDITION",
      `process ${WORKLOAD} changed during attestation: PID ${WORKLOAD} now belongs to another process ` +
        `(start time ${FIRST} when located, ${FIRST + 5_000_000n} now)`,
    );
    assert.equal(fake.openHandles, 0);
  });

  it("PID given to a new process in the same container job → still FAILED_PRECONDITION", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => {
        exitProcess(f, WORKLOAD);
        f.processes.push({ pid: WORKLOAD, exe: "workload.exe", created: FIRST + 1n });
        f.objects.jobA.members!.push(WORKLOAD);
      }).attest(WORKLOAD),
      "FAILED_PRECONDITION",
      /now belongs to another process \(start time \d+ when located, \d+ now\)$/,
    );
  });

  it("put into a second container job meanwhile → the second lookup fails (two jobs)", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => f.objects.jobB.members!.push(WORKLOAD)).attest(WORKLOAD),
      "INTERNAL",
      /^process 42 could not be located again after its pod matched: failed to get container ID: process has multiple jobs: /,
    );
  });

  it("its container job gone meanwhile (vmcompute closed it) → FAILED_PRECONDITION, now in no container", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => f.handles.splice(0, 1)).attest(WORKLOAD),
      "FAILED_PRECONDITION",
      `process ${WORKLOAD} changed during attestation: it was located in an unnamed pod, container ID ` +
        `"${ID_A}" and is now in no container`,
    );
  });
});
