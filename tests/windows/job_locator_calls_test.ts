/**
 * The job-object locator when Windows refuses: access rights (the Wine widening for IsProcessInJob,
 * os-denied instead of "not in a container"), processes and handles that vanish during the lookup,
 * an unavailable API, a failing CloseHandle, and every Windows call failing in turn.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JobContainerLocator } from "../../src/platform/windows/job_locator.ts";
import { NtStatus, PROCESS_DUP_HANDLE, Win32Error } from "../../src/platform/windows/structs.ts";
import { WinApiError } from "../../src/platform/windows/winapi.ts";
import { rejectsWithAttestorError } from "../../src/testing/assert_error.ts";
import { ID_A, type Verb } from "./fake_winapi.ts";
import { assertError, host, locate, located, VMCOMPUTE, WORKLOAD } from "./_job_locator.ts";

describe("JobContainerLocator: access rights and vanishing processes", () => {
  it("uses PROCESS_QUERY_INFORMATION for IsProcessInJob when the limited right is refused (Wine)", async () => {
    const fake = host({ wineIsProcessInJob: true });
    const out = await locate(fake);
    assert.deepEqual(out.result, located(WORKLOAD, ID_A));
    assert.equal(fake.calls.openProcess, 3, "workload (limited), vmcompute, workload (query information)");
  });

  it("reports os-denied when IsProcessInJob is refused with both rights", async () => {
    const fake = host({ wineIsProcessInJob: true, denyOpen: [{ pid: WORKLOAD, access: 0x400 }] });
    assertError(
      await locate(fake),
      "os-denied",
      "failed to get container ID: failed to call IsProcessInJob: OpenProcess: Access is denied. (Win32 error 5)",
    );
  });

  it("reports os-denied when vmcompute cannot be opened, never 'not in a container'", async () => {
    const fake = host({ denyOpen: [{ pid: VMCOMPUTE, access: PROCESS_DUP_HANDLE }] });
    assertError(
      await locate(fake, 43),
      "os-denied",
      "failed to get container ID: failed to open unique process 3 (vmcompute.exe): OpenProcess: Access is denied. (Win32 error 5)",
    );
  });

  it("skips a vmcompute process that exited during the lookup", async () => {
    const fake = host();
    fake.fail.openProcess = (_access, pid) =>
      pid === VMCOMPUTE ? WinApiError.win32("OpenProcess", Win32Error.INVALID_PARAMETER) : undefined;
    assert.deepEqual((await locate(fake)).result, located(WORKLOAD, null));
  });

  for (const code of [Win32Error.NOT_SUPPORTED, Win32Error.INVALID_HANDLE]) {
    it(`skips a job handle DuplicateHandle refuses with Win32 error ${code} (closed or not duplicable)`, async () => {
      const fake = host();
      fake.fail.duplicateHandle = () => WinApiError.win32("DuplicateHandle", code);
      const out = await locate(fake);
      assert.deepEqual(out.result, located(WORKLOAD, null));
      assert.ok(out.logs.some((l) => l.level === "debug" && /cannot be duplicated/.test(l.message)));
    });
  }

  it("reports an unavailable Windows API as platform-unavailable", async () => {
    const locator = new JobContainerLocator({
      api: () => {
        throw new Error("no kernel32");
      },
    });
    await rejectsWithAttestorError(
      locator.locate(1),
      "platform-unavailable",
      "failed to get container ID: the Windows API is unavailable: no kernel32",
    );
  });

  it("logs but survives a failing CloseHandle", async () => {
    const fake = host();
    // the first close releases the handle but still reports a failure
    const real = fake.closeHandle.bind(fake);
    let closes = 0;
    fake.closeHandle = (h) => {
      real(h);
      if (++closes === 1) throw WinApiError.win32("CloseHandle", 6);
    };
    const out = await locate(fake);
    assert.deepEqual(out.result, located(WORKLOAD, ID_A));
    assert.ok(out.logs.some((l) => l.message === "failed to close a handle"));
  });
});

// Every Windows call, failing with access denied and with another error. The message must name the call
// (through the WinApiError text) and access denied must be os-denied, never a silent "null".
const DENIED_WIN32 = (call: string) => WinApiError.win32(call, Win32Error.ACCESS_DENIED);
const DENIED_NT = (call: string) => WinApiError.ntstatus(call, NtStatus.ACCESS_DENIED);

interface CallCase {
  verb: Verb;
  call: string;
  nt: boolean;
  prefix: string;
  /** Only fail for some arguments (e.g. the vmcompute open, not the workload open). */
  when?: (...args: unknown[]) => boolean;
}

const CALLS: CallCase[] = [
  {
    verb: "createProcessSnapshot",
    call: "CreateToolhelp32Snapshot",
    nt: false,
    prefix: "failed to search vmcompute process",
  },
  { verb: "firstProcess", call: "Process32FirstW", nt: false, prefix: "failed to search vmcompute process" },
  { verb: "nextProcess", call: "Process32NextW", nt: false, prefix: "failed to search vmcompute process" },
  {
    verb: "openProcess",
    call: "OpenProcess",
    nt: false,
    prefix: "failed to open child process",
    when: (_a, pid) => pid === WORKLOAD,
  },
  {
    verb: "processCreationTime",
    call: "GetProcessTimes",
    nt: false,
    prefix: "failed to get process times",
  },
  {
    verb: "createJobObject",
    call: "CreateJobObjectW",
    nt: false,
    prefix: "failed to find the Job object type",
  },
  {
    verb: "queryHandleTable",
    call: "NtQuerySystemInformation",
    nt: true,
    prefix: "failed to query for extended handle information",
  },
  {
    verb: "openProcess",
    call: "OpenProcess",
    nt: false,
    prefix: "failed to open unique process 3 (vmcompute.exe)",
    when: (_a, pid) => pid === VMCOMPUTE,
  },
  {
    verb: "duplicateHandle",
    call: "DuplicateHandle",
    nt: false,
    prefix: "failed to duplicate handle 20 of process 3",
  },
  {
    verb: "objectTypeName",
    call: "NtQueryObject(ObjectTypeInformation)",
    nt: true,
    prefix: "failed to get object type",
  },
  { verb: "isProcessInJob", call: "IsProcessInJob", nt: false, prefix: "failed to call IsProcessInJob" },
  {
    verb: "objectName",
    call: "NtQueryObject(ObjectNameInformation)",
    nt: true,
    prefix: "failed to get object name",
  },
];

describe("JobContainerLocator failures at each Windows call", () => {
  for (const c of CALLS) {
    it(`${c.call} (${c.prefix}): access denied is os-denied`, async () => {
      const fake = host();
      fake.fail[c.verb] = (...args) =>
        !c.when || c.when(...args) ? (c.nt ? DENIED_NT(c.call) : DENIED_WIN32(c.call)) : undefined;
      const text = c.nt ? "STATUS_ACCESS_DENIED (NTSTATUS 0xC0000022)" : "Access is denied. (Win32 error 5)";
      assertError(
        await locate(fake),
        "os-denied",
        `failed to get container ID: ${c.prefix}: ${c.call}: ${text}`,
      );
    });

    it(`${c.call} (${c.prefix}): another error is os-failed`, async () => {
      const fake = host();
      const err = c.nt ? WinApiError.ntstatus(c.call, 0xC0000001) : WinApiError.win32(c.call, 31);
      fake.fail[c.verb] = (...args) => (!c.when || c.when(...args) ? err : undefined);
      const text = c.nt ? "NTSTATUS 0xC0000001" : "Win32 error 31";
      assertError(
        await locate(fake),
        "os-failed",
        `failed to get container ID: ${c.prefix}: ${c.call}: ${text}`,
      );
    });
  }

  it("a non-WinApiError thrown by a call is os-failed with its text", async () => {
    const fake = host();
    fake.fail.queryHandleTable = () => new Error("NtQuerySystemInformation: handle table claims 9 entries");
    assertError(
      await locate(fake),
      "os-failed",
      "failed to get container ID: failed to query for extended handle information: NtQuerySystemInformation: handle table claims 9 entries",
    );
  });
});
