import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AttestorError, type ErrorCode } from "../../src/errors.ts";
import type { LogFields, Logger } from "../../src/log.ts";
import { JobContainerLocator, type JobLocatorLimits } from "../../src/platform/windows/job_locator.ts";
import { NtStatus, PROCESS_DUP_HANDLE, Win32Error } from "../../src/platform/windows/structs.ts";
import { WinApiError } from "../../src/platform/windows/winapi.ts";
import type { ContainerLocation } from "../../src/platform/types.ts";
import {
  defaultCreationTime,
  FakeWindows,
  type FakeWindowsOptions,
  ID_A,
  ID_B,
  type Verb,
} from "./fake_winapi.ts";

const WORKLOAD = 42;
const VMCOMPUTE = 3;

/** What `locate(pid)` returns: the container ID and the process's creation time from `GetProcessTimes`. */
function located(pid: number, containerId: string | null): ContainerLocation {
  return { podUid: null, containerId, startTime: String(defaultCreationTime(pid)) };
}

/** The base host: one vmcompute holding a file, an event and the workload's container job. */
function host(overrides: Partial<FakeWindowsOptions> = {}): FakeWindows {
  return new FakeWindows({
    processes: [
      { pid: 1, exe: "a.exe" },
      { pid: 2, exe: "b.exe" },
      { pid: VMCOMPUTE, exe: "vmcompute.exe" },
      { pid: WORKLOAD, exe: "workload.exe" },
      { pid: 43, exe: "other.exe" },
    ],
    objects: {
      jobA: { type: "Job", name: `\\Container_${ID_A}`, members: [WORKLOAD] },
      file: { type: "File", name: "\\Device\\HarddiskVolume1\\x" },
      event: { type: "Event", name: "" },
    },
    handles: [
      { owner: VMCOMPUTE, handle: 0x10n, object: "file" },
      { owner: VMCOMPUTE, handle: 0x14n, object: "jobA" },
      { owner: VMCOMPUTE, handle: 0x18n, object: "event" },
      // the same job held by a non-vmcompute process is ignored
      { owner: 2, handle: 0x14n, object: "jobA" },
    ],
    ...overrides,
  });
}

interface Outcome {
  result?: ContainerLocation;
  error?: unknown;
  logs: Array<{ level: string; message: string; fields?: LogFields }>;
}

function recordingLogger(logs: Outcome["logs"], base: LogFields = {}): Logger {
  const emit = (level: string) => (message: string, fields?: LogFields) =>
    logs.push({ level, message, fields: { ...base, ...fields } });
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    with: (fields) => recordingLogger(logs, { ...base, ...fields }),
  };
}

/** Runs one lookup and asserts that no handle leaked, whatever the outcome. */
async function locate(
  fake: FakeWindows,
  pid = WORKLOAD,
  limits?: Partial<JobLocatorLimits>,
  signal?: AbortSignal,
): Promise<Outcome> {
  const logs: Outcome["logs"] = [];
  const locator = new JobContainerLocator({
    api: fake,
    logger: recordingLogger(logs),
    verbose: true,
    limits,
  });
  const outcome: Outcome = { logs };
  try {
    outcome.result = await locator.locate(pid, signal);
  } catch (err) {
    outcome.error = err;
  }
  assert.equal(fake.openHandles, 0, "every handle is closed");
  assert.equal(fake.badCloses, 0, "no handle is closed twice");
  return outcome;
}

function assertError(outcome: Outcome, code: ErrorCode, message: string | RegExp): void {
  assert.equal(outcome.result, undefined, "no result expected");
  assert.ok(outcome.error instanceof AttestorError, `AttestorError expected, got ${outcome.error}`);
  assert.equal(outcome.error.code, code);
  if (typeof message === "string") assert.equal(outcome.error.message, message);
  else assert.match(outcome.error.message, message);
}

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
      "INTERNAL",
      `failed to get container ID: process has multiple jobs: [\\Container_${ID_A} \\Container_${ID_B}]`,
    );
  });

  it("counts two vmcompute handles to the same job once", async () => {
    const fake = host();
    fake.handles.push({ owner: VMCOMPUTE, handle: 0x40n, object: "jobA" });
    assert.deepEqual((await locate(fake)).result, located(WORKLOAD, ID_A));
    assert.equal(fake.calls.duplicateHandle, 2);
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
    assertError(await locate(fake, 4242), "NOT_FOUND", /process 4242 does not exist/);
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
      "INTERNAL",
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
      "INTERNAL",
      /kept growing over 3 attempts/,
    );
    assert.equal(fake.querySizes.length, 3);
  });

  it("reports a process that does not exist as NOT_FOUND", async () => {
    assertError(
      await locate(host(), 999),
      "NOT_FOUND",
      /failed to open child process: process 999 does not exist/,
    );
  });

  for (const pid of [0, -1, 1.5, 2 ** 32, Number.NaN]) {
    it(`rejects the PID ${pid}`, async () => {
      const fake = host();
      assertError(
        await locate(fake, pid),
        "INVALID_ARGUMENT",
        `failed to get container ID: invalid value for PID: ${pid}`,
      );
      assert.equal(fake.calls.createProcessSnapshot, undefined);
    });
  }

  it("uses PROCESS_QUERY_INFORMATION for IsProcessInJob when the limited right is refused (Wine)", async () => {
    const fake = host({ wineIsProcessInJob: true });
    const out = await locate(fake);
    assert.deepEqual(out.result, located(WORKLOAD, ID_A));
    assert.equal(fake.calls.openProcess, 3, "workload (limited), vmcompute, workload (query information)");
  });

  it("reports PERMISSION_DENIED when IsProcessInJob is refused with both rights", async () => {
    const fake = host({ wineIsProcessInJob: true, denyOpen: [{ pid: WORKLOAD, access: 0x400 }] });
    assertError(
      await locate(fake),
      "PERMISSION_DENIED",
      "failed to get container ID: failed to call IsProcessInJob: OpenProcess: Access is denied. (Win32 error 5)",
    );
  });

  it("reports PERMISSION_DENIED when vmcompute cannot be opened, never 'not in a container'", async () => {
    const fake = host({ denyOpen: [{ pid: VMCOMPUTE, access: PROCESS_DUP_HANDLE }] });
    assertError(
      await locate(fake, 43),
      "PERMISSION_DENIED",
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

  it("fails when a handle with the job type index is not a Job", async () => {
    const fake = host();
    fake.objects.fake = { type: "File", name: "\\x", typeIndexOverride: 6 };
    fake.handles.push({ owner: VMCOMPUTE, handle: 0x50n, object: "fake" });
    assertError(await locate(fake), "INTERNAL", /has the Job type index 6 but its type is "File"/);
  });

  it("fails on a container job with an empty ID", async () => {
    const fake = host();
    fake.objects.jobA.name = "\\Container_";
    assertError(await locate(fake), "INTERNAL", /job "\\\\Container_" has an empty container ID/);
  });

  it("fails when its own probe job is missing from the handle table", async () => {
    const fake = host();
    const real = fake.queryHandleTable.bind(fake);
    fake.queryHandleTable = (size, keep) => real(size, (pid) => pid !== fake.selfPid && (!keep || keep(pid)));
    assertError(
      await locate(fake),
      "INTERNAL",
      /failed to find the Job object type: handle \d+ of this process/,
    );
  });

  it("stops when the signal is aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    assertError(await locate(host(), WORKLOAD, undefined, controller.signal), "CANCELLED", /was cancelled/);
  });

  it("reports an unavailable Windows API as FAILED_PRECONDITION", async () => {
    const locator = new JobContainerLocator({
      api: () => {
        throw new Error("no kernel32");
      },
    });
    await assert.rejects(locator.locate(1), (err: unknown) => {
      assert.ok(err instanceof AttestorError);
      assert.equal(err.code, "FAILED_PRECONDITION");
      assert.equal(err.message, "failed to get container ID: the Windows API is unavailable: no kernel32");
      return true;
    });
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
// (through the WinApiError text) and access denied must be PERMISSION_DENIED, never a silent "null".
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
    it(`${c.call} (${c.prefix}): access denied is PERMISSION_DENIED`, async () => {
      const fake = host();
      fake.fail[c.verb] = (...args) =>
        !c.when || c.when(...args) ? (c.nt ? DENIED_NT(c.call) : DENIED_WIN32(c.call)) : undefined;
      const text = c.nt ? "STATUS_ACCESS_DENIED (NTSTATUS 0xC0000022)" : "Access is denied. (Win32 error 5)";
      assertError(
        await locate(fake),
        "PERMISSION_DENIED",
        `failed to get container ID: ${c.prefix}: ${c.call}: ${text}`,
      );
    });

    it(`${c.call} (${c.prefix}): another error is INTERNAL`, async () => {
      const fake = host();
      const err = c.nt ? WinApiError.ntstatus(c.call, 0xC0000001) : WinApiError.win32(c.call, 31);
      fake.fail[c.verb] = (...args) => (!c.when || c.when(...args) ? err : undefined);
      const text = c.nt ? "NTSTATUS 0xC0000001" : "Win32 error 31";
      assertError(
        await locate(fake),
        "INTERNAL",
        `failed to get container ID: ${c.prefix}: ${c.call}: ${text}`,
      );
    });
  }

  it("a non-WinApiError thrown by a call is INTERNAL with its text", async () => {
    const fake = host();
    fake.fail.queryHandleTable = () => new Error("NtQuerySystemInformation: handle table claims 9 entries");
    assertError(
      await locate(fake),
      "INTERNAL",
      "failed to get container ID: failed to query for extended handle information: NtQuerySystemInformation: handle table claims 9 entries",
    );
  });
});
