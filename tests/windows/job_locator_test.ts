/**
 * The job-object locator against the fake OS: which container job a process is in (vmcompute's handles,
 * container job names, several jobs, several vmcompute processes), the PIDs it refuses and the
 * cancellation. The handle table and the failing Windows calls have their own files.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ID_A, ID_B } from "./fake_winapi.ts";
import { assertError, host, locate, located, VMCOMPUTE, WORKLOAD } from "./_job_locator.ts";

describe("JobContainerLocator", () => {
  it("returns the ID of the container job the process is in", async () => {
    const out = await locate(host());
    assert.deepEqual(out.result, located(WORKLOAD, ID_A));
  });

  it("returns null when the process is in no job", async () => {
    const out = await locate(host(), 43);
    assert.deepEqual(out.result, located(43, null));
  });

  it("ignores vmcompute jobs the process is not in", async () => {
    const fake = host();
    fake.objects.jobB = { type: "Job", name: `\\Container_${ID_B}`, members: [43] };
    fake.handles.push({ owner: VMCOMPUTE, handle: 0x1Cn, object: "jobB" });
    assert.deepEqual((await locate(fake)).result, located(WORKLOAD, ID_A));
    assert.deepEqual((await locate(fake, 43)).result, located(43, ID_B));
  });

  it("ignores jobs whose name is not a container name", async () => {
    const fake = host();
    fake.objects.other = { type: "Job", name: "\\BaseNamedObjects\\SomeJob", members: [43] };
    fake.objects.unnamed = { type: "Job", name: "", members: [43] };
    fake.handles.push({ owner: VMCOMPUTE, handle: 0x20n, object: "other" });
    fake.handles.push({ owner: VMCOMPUTE, handle: 0x24n, object: "unnamed" });
    assert.deepEqual((await locate(fake, 43)).result, located(43, null));
    // a non-container job next to a container job does not hide the container job
    fake.objects.other.members!.push(WORKLOAD);
    assert.deepEqual((await locate(fake)).result, located(WORKLOAD, ID_A));
  });

  it("fails when the process is in two container jobs", async () => {
    const fake = host();
    fake.objects.jobB = { type: "Job", name: `\\Container_${ID_B}`, members: [WORKLOAD] };
    fake.handles.push({ owner: VMCOMPUTE, handle: 0x1Cn, object: "jobB" });
    assertError(
      await locate(fake),
      "multiple-jobs",
      `failed to get container ID: process has multiple jobs: [\\Container_${ID_A} \\Container_${ID_B}]`,
    );
  });

  it("looks at the handles of every vmcompute process and opens each once", async () => {
    const fake = host();
    fake.processes.push({ pid: 9, exe: "vmcompute.exe" });
    fake.objects.jobB = { type: "Job", name: `\\Container_${ID_B}`, members: [43] };
    fake.handles.push({ owner: 9, handle: 0x14n, object: "jobB" }, {
      owner: 9,
      handle: 0x30n,
      object: "file",
    });
    fake.handles.push({ owner: 9, handle: 0x34n, object: "jobA" });
    assert.deepEqual((await locate(fake, 43)).result, located(43, ID_B));
    const opens = fake.calls.openProcess;
    assert.equal(opens, 3, "workload + two vmcompute processes");
  });

  it("matches vmcompute.exe exactly (case-sensitive, as upstream)", async () => {
    const fake = host();
    fake.processes[2] = { pid: VMCOMPUTE, exe: "VMCOMPUTE.EXE" };
    assert.deepEqual((await locate(fake)).result, located(WORKLOAD, null));
  });

  it("returns null without reading the handle table when vmcompute is not running, and warns once", async () => {
    const fake = host();
    fake.processes.splice(2, 1);
    const first = await locate(fake);
    assert.deepEqual(first.result, located(WORKLOAD, null));
    assert.equal(fake.calls.queryHandleTable, undefined);
    assert.equal(first.logs.filter((l) => l.level === "warn").length, 1);
    // the workload must still exist
    assertError(await locate(fake, 4242), "process-gone", /process 4242 does not exist/);
  });

  it("reports a process that does not exist as process-gone", async () => {
    assertError(
      await locate(host(), 999),
      "process-gone",
      /failed to open child process: process 999 does not exist/,
    );
  });

  for (const pid of [0, -1, 1.5, 2 ** 32, Number.NaN]) {
    it(`rejects the PID ${pid}`, async () => {
      const fake = host();
      assertError(
        await locate(fake, pid),
        "bad-request",
        `failed to get container ID: invalid value for PID: ${pid}`,
      );
      assert.equal(fake.calls.createProcessSnapshot, undefined);
    });
  }

  it("fails on a container job with an empty ID", async () => {
    const fake = host();
    fake.objects.jobA.name = "\\Container_";
    assertError(await locate(fake), "malformed-input", /job "\\\\Container_" has an empty container ID/);
  });

  it("stops when the signal is aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    assertError(await locate(host(), WORKLOAD, undefined, controller.signal), "cancelled", /was cancelled/);
  });
});
