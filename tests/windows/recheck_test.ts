/**
 * The core's re-check on Windows, against the fake OS: the job-object locator reports the workload's
 * creation time, and after the pod list matched the core runs a second job lookup. While the "kubelet" is
 * being asked, the test changes the fake: the process exits, its PID goes to another process (inside or
 * outside the container job), or it ends up in a second container job. Runs on Linux and under Wine.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAttestCore } from "../../src/core/attest.ts";
import { parsePodList } from "../../src/kubelet/pods.ts";
import type { PodListSource } from "../../src/core/types.ts";
import { nullLogger } from "../../src/log.ts";
import { JobContainerLocator } from "../../src/platform/windows/job_locator.ts";
import { rejectsWithAttestorError as rejectsWith } from "../../src/testing/assert_error.ts";
import { defaultCreationTime, FakeWindows, ID_A, ID_B } from "./fake_winapi.ts";
import { VMCOMPUTE, WORKLOAD } from "./_job_locator.ts";
import { podList, winWebPod, winWebSelectors } from "./_win_web_pod.ts";

const PODS = JSON.stringify(podList(winWebPod({ containerId: ID_A })));

/** The pod's and the `web` container's selectors, written out by hand. */
const WEB_SELECTORS = winWebSelectors();

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

  it("exited while the kubelet was asked → process-gone", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => exitProcess(f, WORKLOAD)).attest(WORKLOAD),
      "process-gone",
      `process ${WORKLOAD} could not be located again after its pod matched: failed to get container ID: ` +
        `failed to open child process: process ${WORKLOAD} does not exist (OpenProcess: The parameter is ` +
        `incorrect. (Win32 error 87))`,
    );
    assert.equal(fake.openHandles, 0);
  });

  it("PID given to a host process → process-changed naming both creation times", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => {
        exitProcess(f, WORKLOAD);
        f.processes.push({ pid: WORKLOAD, exe: "other.exe", created: FIRST + 5_000_000n });
      }).attest(WORKLOAD),
      "process-changed",
      `process ${WORKLOAD} changed during attestation: PID ${WORKLOAD} now belongs to another process ` +
        `(start time ${FIRST} when located, ${FIRST + 5_000_000n} now)`,
    );
    assert.equal(fake.openHandles, 0);
  });

  it("PID given to a new process in the same container job → still process-changed", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => {
        exitProcess(f, WORKLOAD);
        f.processes.push({ pid: WORKLOAD, exe: "workload.exe", created: FIRST + 1n });
        f.objects.jobA.members!.push(WORKLOAD);
      }).attest(WORKLOAD),
      "process-changed",
      /now belongs to another process \(start time \d+ when located, \d+ now\)$/,
    );
  });

  it("put into a second container job meanwhile → the second lookup fails (two jobs)", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => f.objects.jobB.members!.push(WORKLOAD)).attest(WORKLOAD),
      "multiple-jobs",
      /^process 42 could not be located again after its pod matched: failed to get container ID: process has multiple jobs: /,
    );
  });

  it("its container job gone meanwhile (vmcompute closed it) → process-changed, now in no container", async () => {
    const fake = host();
    await rejectsWith(
      coreOver(fake, (f) => f.handles.splice(0, 1)).attest(WORKLOAD),
      "process-changed",
      `process ${WORKLOAD} changed during attestation: it was located in an unnamed pod, container ID ` +
        `"${ID_A}" and is now in no container`,
    );
  });
});
