/**
 * The release path without `deno compile` (which cannot run on our build machines): bundle `mod.ts` into one
 * file with `deno bundle`, run it with the pinned `deno` and exactly the permission and V8 flags of the
 * `compile:linux-x64` task, and put it through the demo (real process, fake kubelet over TLS, full
 * go-plugin load/attest/unload).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import denoConfig from "../../deno.json" with { type: "json" };
import { runDemo } from "../../src/demo/main.ts";
import { REPO_ROOT } from "../../src/testing/plugin_process.ts";
import { releaseRuntimeFlags } from "../../src/testing/release_flags.ts";

describe("the bundled plugin under the release permissions", { skip: Deno.build.os !== "linux" }, () => {
  let dir: string;
  let bundle: string;

  before(async () => {
    dir = await Deno.makeTempDir({ prefix: "k8s-attestor-bundle-" });
    bundle = join(dir, "k8s-attestor.js");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform=deno", "-o", bundle, join(REPO_ROOT, "mod.ts")],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  });

  after(async () => {
    if (dir) await Deno.remove(dir, { recursive: true });
  });

  it("prints its version without the plugin cookie", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", ...releaseRuntimeFlags("compile:linux-x64"), bundle, "--version"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(new TextDecoder().decode(out.stdout), new RegExp(`^k8s-attestor ${denoConfig.version}\n`));
  });

  it("loads, attests a real workload and unloads cleanly", async () => {
    const lines: string[] = [];
    const result = await runDemo({
      print: (line) => lines.push(line),
      command: [Deno.execPath(), "run", "--no-config", ...releaseRuntimeFlags("compile:linux-x64"), bundle],
    });
    assert.equal(result.exitCode, 0, lines.join("\n"));
    assert.deepEqual(result.logProblems, []);
    assert.deepEqual(result.hostSelectors, []);
    assert.ok(result.selectors.includes(`pod-uid:${result.podUid}`), lines.join("\n"));
    assert.ok(result.selectors.includes("container-name:app"));
    assert.ok(result.selectors.includes("sa:web"));
    assert.equal(result.selectors.length, 21);
  });
});
