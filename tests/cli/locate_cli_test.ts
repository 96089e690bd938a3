/**
 * The `locate` diagnosis command goes through the platform abstraction: on Windows it runs the job-object
 * lookup (here against the fake OS of tests/windows), on Linux the cgroup locator.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runLocate } from "../../src/cli/locate.ts";
import { createWindowsPlatform } from "../../src/platform/windows/mod.ts";
import { FakeWindows, ID_A } from "../windows/fake_winapi.ts";

const PROC_ROOT = fileURLToPath(new URL("../testdata/proc/", import.meta.url));

async function run(args: string[], platform?: ReturnType<typeof createWindowsPlatform>) {
  let stdout = "";
  const code = await runLocate(args, { stdout: (s) => (stdout += s), platform });
  return { code, stdout };
}

describe("locate (CLI) through the platform abstraction", () => {
  it("on Windows, maps a PID to its container through the job objects", async () => {
    const fake = new FakeWindows({
      processes: [{ pid: 3, exe: "vmcompute.exe" }, { pid: 42, exe: "w.exe" }, { pid: 43, exe: "h.exe" }],
      objects: { job: { type: "Job", name: `\\Container_${ID_A}`, members: [42] } },
      handles: [{ owner: 3, handle: 0x10n, object: "job" }],
    });
    const windows = createWindowsPlatform({ api: fake });
    assert.deepEqual(await run(["--pid", "42"], windows), {
      code: 0,
      stdout: JSON.stringify({ podUid: null, containerId: ID_A }) + "\n",
    });
    assert.deepEqual(await run(["--pid", "43"], windows), {
      code: 0,
      stdout: JSON.stringify({ podUid: null, containerId: null }) + "\n",
    });
    assert.equal(fake.openHandles, 0);
  });

  it("on Linux (the default here), reads the proc root given with --proc-root", async () => {
    if (Deno.build.os !== "linux") return;
    const root = `${PROC_ROOT}/containerd-systemd-v2-burstable`;
    assert.deepEqual(await run(["--pid", "23817", "--proc-root", root]), {
      code: 0,
      stdout: JSON.stringify({
        podUid: "fc6c5d03-1255-483e-a6d0-01ab85bee3c9",
        containerId: "f91c53a5735fdd6d6997c4b76fd630ed4f6b1b3487038565a36f8ca3803ad597",
      }) + "\n",
    });
  });

  it("passes --kubelet-cgroup-root to the locator and validates it", async () => {
    const root = `${PROC_ROOT}/kind-kubelet-cgroupfs-v2`;
    const only = await run(["--pid", "8082", "--proc-root", root, "--kubelet-cgroup-root", "/other"]);
    assert.equal(only.code, 1);
    assert.match(
      JSON.parse(only.stdout).error,
      /is not under the kubelet's pod cgroups \(accepted kubelet cgroup roots: \/other\)/,
    );
    const bad = await run(["--pid", "8082", "--kubelet-cgroup-root", "kubelet"]);
    assert.equal(bad.code, 1);
    assert.match(JSON.parse(bad.stdout).error, /^--kubelet-cgroup-root must be an absolute cgroup path/);
  });
});
