/**
 * The real job-object lookup, end to end, under Wine (run by scripts/test_wine.sh with deno.exe; not
 * picked up by the Linux `deno test tests/`). A copy of deno.exe named `vmcompute.exe` runs
 * fixtures/vmcompute_helper.ts, which creates `\Container_<id>` job objects, puts a child process in them
 * and holds the handles; the product locator (windowsPlatform, real kernel32/ntdll through FFI) must map
 * the child's PID to the ID.
 *
 * Wine differences accounted for: IsProcessInJob refuses a PROCESS_QUERY_LIMITED_INFORMATION handle, so
 * the locator's one-time widening to PROCESS_QUERY_INFORMATION is exercised here (asserted through its
 * debug log); Wine lets a process be in two unrelated jobs, which gives the "multiple jobs" case.
 *
 * Needs K8S_ATTESTOR_VMCOMPUTE_EXE: the Windows path of the vmcompute.exe copy.
 *
 * @module
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AttestorError } from "../../src/errors.ts";
import { windowsPlatform } from "../../src/platform/windows/mod.ts";
import { PROCESS_QUERY_LIMITED_INFORMATION } from "../../src/platform/windows/structs.ts";
import { createFfiWinApi } from "../../src/platform/windows/winapi_ffi.ts";
import { rejectsWithAttestorError } from "../../src/testing/assert_error.ts";
import { type RecordedLine, recordingLogger } from "../../src/testing/recording_logger.ts";
import { startVmcompute } from "./fixtures/start_vmcompute.ts";

const ID_1 = "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const ID_2 = "deadbeef0123456789abcdef0123456789abcdef0123456789abcdef01234567";
const ID_3 = "feedface0123456789abcdef0123456789abcdef0123456789abcdef01234567";

interface Helper {
  helperPid: number;
  childPid: number;
  jobs: string[];
  stop(): Promise<void>;
}

async function startHelper(ids: string[]): Promise<Helper> {
  const { info, stop } = await startVmcompute<Omit<Helper, "stop">>(ids);
  return { ...info, stop };
}

/** The creation time of `pid` as the locator reports it (read here through a handle of our own). */
function startTime(pid: number): string {
  const api = createFfiWinApi();
  const handle = api.openProcess(PROCESS_QUERY_LIMITED_INFORMATION, pid);
  try {
    return String(api.processCreationTime(handle));
  } finally {
    api.closeHandle(handle);
  }
}

describe("job-object lookup under Wine (real kernel32/ntdll)", () => {
  let single: Helper;
  let double: Helper;

  before(async () => {
    single = await startHelper([ID_1]);
    double = await startHelper([ID_2, ID_3]);
  });

  after(async () => {
    await single?.stop();
    await double?.stop();
  });

  it("the helpers run as vmcompute.exe and hold named container jobs", () => {
    assert.deepEqual(single.jobs, [`\\Container_${ID_1}`]);
    assert.deepEqual(double.jobs, [`\\Container_${ID_2}`, `\\Container_${ID_3}`]);
  });

  it("maps the child's PID to its container ID", async () => {
    const logs: RecordedLine[] = [];
    const locator = windowsPlatform.createLocator({
      useNewContainerLocator: true,
      verbose: true,
      logger: recordingLogger(logs),
    });
    assert.deepEqual(await locator.locate(single.childPid), {
      podUid: null,
      containerId: ID_1,
      startTime: startTime(single.childPid),
    });
    // Wine difference: IsProcessInJob needs PROCESS_QUERY_INFORMATION there.
    const messages = logs.map((l) => l.message);
    assert.ok(messages.some((m) => /IsProcessInJob was denied/.test(m)), messages.join("\n"));
  });

  it("returns null for processes in no container job", async () => {
    const locator = windowsPlatform.createLocator({
      useNewContainerLocator: false,
      verbose: false,
      logger: recordingLogger([]),
    });
    assert.deepEqual(await locator.locate(Deno.pid), {
      podUid: null,
      containerId: null,
      startTime: startTime(Deno.pid),
    });
    assert.deepEqual(await locator.locate(single.helperPid), {
      podUid: null,
      containerId: null,
      startTime: startTime(single.helperPid),
    });
  });

  it("fails for a process in two container jobs", async () => {
    const locator = windowsPlatform.createLocator({
      useNewContainerLocator: true,
      verbose: false,
      logger: recordingLogger([]),
    });
    await assert.rejects(locator.locate(double.childPid), (err: unknown) => {
      assert.ok(err instanceof AttestorError);
      assert.equal(err.reason, "multiple-jobs");
      const a = `\\Container_${ID_2}`, b = `\\Container_${ID_3}`;
      assert.ok(
        err.message === `failed to get container ID: process has multiple jobs: [${a} ${b}]` ||
          err.message === `failed to get container ID: process has multiple jobs: [${b} ${a}]`,
        err.message,
      );
      return true;
    });
  });

  it("reports a PID that does not exist as process-gone", async () => {
    const locator = windowsPlatform.createLocator({
      useNewContainerLocator: true,
      verbose: false,
      logger: recordingLogger([]),
    });
    await rejectsWithAttestorError(
      locator.locate(0xFFFF_FFF0),
      "process-gone",
      /failed to open child process: process 4294967280 does not exist \(OpenProcess: /,
    );
  });
});
