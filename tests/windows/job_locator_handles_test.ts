/**
 * The job-object locator and the system handle table (`NtQuerySystemInformation`): only job handles of
 * vmcompute are duplicated, the buffer grows and is bounded, and a table that contradicts itself fails.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ID_A } from "./fake_winapi.ts";
import { assertError, host, locate, located, VMCOMPUTE, WORKLOAD } from "./_job_locator.ts";

describe("JobContainerLocator: the system handle table", () => {
  it("counts two vmcompute handles to the same job once", async () => {
    const fake = host();
    fake.handles.push({ owner: VMCOMPUTE, handle: 0x40n, object: "jobA" });
    assert.deepEqual((await locate(fake)).result, located(WORKLOAD, ID_A));
    assert.equal(fake.calls.duplicateHandle, 2);
  });

  it("only duplicates handles whose type index is the job type (huge handle tables)", async () => {
    const fake = host({ fillerEntries: 300_000 });
    const out = await locate(fake, WORKLOAD, { initialHandleBuffer: 4096 });
    assert.deepEqual(out.result, located(WORKLOAD, ID_A));
    assert.equal(fake.calls.duplicateHandle, 1, "only the one vmcompute job handle is duplicated");
    assert.ok(fake.querySizes.length >= 2 && fake.querySizes.length <= 8, `queries: ${fake.querySizes}`);
  });

  it("grows the handle buffer on STATUS_INFO_LENGTH_MISMATCH, also when the table grows meanwhile", async () => {
    const fake = host({ fillerEntries: 10_000, growPerQuery: 5_000 });
    const out = await locate(fake, WORKLOAD, { initialHandleBuffer: 1024 });
    assert.deepEqual(out.result, located(WORKLOAD, ID_A));
    const sizes = fake.querySizes;
    assert.equal(sizes[0], 1024);
    for (let i = 1; i < sizes.length; i++) assert.ok(sizes[i] > sizes[i - 1], `sizes grow: ${sizes}`);
  });

  it("gives up when the handle table exceeds the largest buffer", async () => {
    const fake = host({ fillerEntries: 100_000 });
    assertError(
      await locate(fake, WORKLOAD, { initialHandleBuffer: 1024, maxHandleBuffer: 1 << 20 }),
      "os-failed",
      `failed to get container ID: failed to query for extended handle information: the handle table does not fit in ${
        1 << 20
      } bytes`,
    );
    assert.equal(fake.querySizes.at(-1), 1 << 20);
  });

  it("gives up after the maximum number of queries", async () => {
    const fake = host({ fillerEntries: 1000, growPerQuery: 1_000_000 });
    assertError(
      await locate(fake, WORKLOAD, { initialHandleBuffer: 1024, maxHandleQueries: 3 }),
      "os-failed",
      /kept growing over 3 attempts/,
    );
    assert.equal(fake.querySizes.length, 3);
  });

  it("fails when a handle with the job type index is not a Job", async () => {
    const fake = host();
    fake.objects.fake = { type: "File", name: "\\x", typeIndexOverride: 6 };
    fake.handles.push({ owner: VMCOMPUTE, handle: 0x50n, object: "fake" });
    assertError(await locate(fake), "malformed-input", /has the Job type index 6 but its type is "File"/);
  });

  it("fails when its own probe job is missing from the handle table", async () => {
    const fake = host();
    const real = fake.queryHandleTable.bind(fake);
    fake.queryHandleTable = (size, keep) => real(size, (pid) => pid !== fake.selfPid && (!keep || keep(pid)));
    assertError(
      await locate(fake),
      "os-failed",
      /failed to find the Job object type: handle \d+ of this process/,
    );
  });
});
