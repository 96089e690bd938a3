/**
 * The release smoke test (src/smoke/main.ts) as CI runs it here (`deno task smoke:bundle`): the bundle under
 * the compile task's permission flags is loaded, configured, attests against the fake kubelet and unloads,
 * in both modes the release uses (container: Linux runners; host: Windows runners). And it fails when the
 * plugin does not hold up: the same bundle under the Windows binary's narrower permissions cannot read
 * `/proc/<pid>/` on Linux.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/testing/plugin_process.ts";
import { bundleCommand, runSmoke, smokeMain } from "../../src/smoke/main.ts";

describe("the release smoke test on the bundle", { skip: Deno.build.os !== "linux" }, () => {
  const bundle = join(REPO_ROOT, "dist", "k8s-attestor.js");
  let taskOutput = "";
  let taskCode = -1;

  before(async () => {
    // Exactly what CI's bundle job runs: build dist/k8s-attestor.js, then the smoke test on it.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "smoke:bundle"],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    taskCode = out.code;
    taskOutput = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  });

  it("deno task smoke:bundle passes (container mode: the workload gets its selectors)", () => {
    assert.equal(taskCode, 0, taskOutput);
    assert.match(taskOutput, /^smoke test passed \(container mode\)$/m);
    assert.match(taskOutput, /^unload {5}Deinit \+ Shutdown -> plugin exited with code 0/m);
  });

  it("passes in host mode (the mode of the Windows runner)", async () => {
    const lines: string[] = [];
    const code = await smokeMain(["--mode", "host", "--bundle", bundle], (l) => lines.push(l));
    assert.equal(code, 0, lines.join("\n"));
    assert.equal(lines.at(-1), "smoke test passed (host mode)");
    assert.ok(lines.some((l) => l.startsWith("unload")), "the plugin was unloaded");
  });

  it("attests the workload to its pod and container selectors in container mode", async () => {
    const report = await runSmoke({ command: bundleCommand(bundle), mode: "container", print: () => {} });
    assert.deepEqual(report.problems, []);
    assert.ok(report.selectors.includes("container-name:app"));
    assert.ok(report.selectors.some((s) => s.startsWith("pod-uid:")));
  });

  it("fails when the plugin cannot attest (the Windows permission set on Linux)", async () => {
    const lines: string[] = [];
    const command = bundleCommand(bundle, "compile:windows-x64");
    await assert.rejects(runSmoke({ command, mode: "container", print: () => {} }), /PERMISSION_DENIED/);
    // Through the command line: the same failure is exit code 1 with the reason.
    const cli = await smokeMain(
      ["--binary", join(REPO_ROOT, "dist", "missing-binary")],
      (l) => lines.push(l),
    );
    assert.equal(cli, 1);
    assert.match(lines.join("\n"), /^FAILED: /m);
  });

  it("refuses bad arguments with exit code 2", async () => {
    const lines: string[] = [];
    assert.equal(await smokeMain([], (l) => lines.push(l)), 2);
    assert.equal(await smokeMain(["--bundle", bundle, "--binary", bundle], (l) => lines.push(l)), 2);
    assert.equal(await smokeMain(["--mode", "vm", "--bundle", bundle], (l) => lines.push(l)), 2);
    assert.deepEqual(lines, [
      "smoke: give exactly one of --binary <file> and --bundle <file>",
      "smoke: give exactly one of --binary <file> and --bundle <file>",
      'smoke: --mode must be container or host, not "vm"',
    ]);
  });
});
