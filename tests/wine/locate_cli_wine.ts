/**
 * The `locate` command under Wine (run by scripts/test_wine.sh with deno.exe): with no platform injected it
 * must take the Windows job-object lookup (the real kernel32/ntdll through FFI), not the Linux cgroup
 * locator. A copy of deno.exe named `vmcompute.exe` holds a `\Container_<id>` job with a child in it.
 *
 * Needs K8S_ATTESTOR_VMCOMPUTE_EXE: the Windows path of the vmcompute.exe copy.
 *
 * @module
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runLocate } from "../../src/cli/locate.ts";
import { startVmcompute } from "./fixtures/start_vmcompute.ts";

const ID = "0bada55e0123456789abcdef0123456789abcdef0123456789abcdef01234567";

describe("locate (CLI) under Wine", () => {
  let helper: { info: { helperPid: number; childPid: number }; stop(): Promise<void> };

  before(async () => {
    helper = await startVmcompute<{ helperPid: number; childPid: number }>([ID]);
  });

  after(async () => {
    await helper?.stop();
  });

  it("runs the job-object lookup on Windows", async () => {
    assert.equal(Deno.build.os, "windows");
    let out = "";
    assert.equal(
      await runLocate(["--pid", String(helper.info.childPid)], { stdout: (s) => (out += s) }),
      0,
      out,
    );
    assert.deepEqual(JSON.parse(out), { podUid: null, containerId: ID });
    out = "";
    assert.equal(await runLocate(["--pid", String(Deno.pid)], { stdout: (s) => (out += s) }), 0, out);
    assert.deepEqual(JSON.parse(out), { podUid: null, containerId: null });
  });
});
