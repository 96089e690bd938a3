/**
 * The `attest` diagnosis command (`src/cli/attest.ts`): the whole pipeline for one PID with the plugin's own
 * configuration file, against a generated proc root and a fake kubelet on the read-only port. The report is
 * read off the one attestation it runs, so it cannot disagree with the selectors.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runAttest } from "../../src/cli/attest.ts";
import { demoPodList, randomContainerId } from "../../src/demo/pods.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { procStatLine } from "../../src/testing/fake_proc.ts";
import { kubepodsPath } from "../../src/testing/cgroups.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";

const NODE = "node-cli";
const POD = crypto.randomUUID();
const CID = randomContainerId();
const IN_POD = 4242, HOST = 4243, MISSING = 4244;

describe("attest (CLI)", () => {
  let dir: string;
  let kubelet: FakeKubelet;
  let configPath: string;

  before(async () => {
    dir = await Deno.makeTempDir({ prefix: "attest_cli_" });
    const proc = (pid: number, cgroup: string) => {
      Deno.mkdirSync(join(dir, "proc", String(pid)), { recursive: true });
      Deno.writeTextFileSync(join(dir, "proc", String(pid), "cgroup"), cgroup);
      Deno.writeTextFileSync(join(dir, "proc", String(pid), "stat"), procStatLine(pid, "app", 7000 + pid));
    };
    proc(IN_POD, `0::${kubepodsPath("systemd", "burstable", POD, CID)}\n`);
    proc(HOST, "0::/system.slice/sshd.service\n");
    kubelet = await startFakeKubelet({
      pods: demoPodList({ podUid: POD, containerId: CID, nodeName: NODE }),
    });
    configPath = join(dir, "k8s.hcl");
    await Deno.writeTextFile(configPath, `kubelet_read_only_port = ${kubelet.port}\nmax_poll_attempts = 2\n`);
  });

  after(async () => {
    await kubelet?.stop();
    if (dir) await Deno.remove(dir, { recursive: true });
  });

  async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "", stderr = "";
    const code = await runAttest(args, {
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      getenv: () => undefined,
    });
    return { code, stdout, stderr };
  }

  it("prints every step of one attestation for a process in a pod", async () => {
    const before = kubelet.requestCount;
    const { code, stdout } = await run(["--pid", String(IN_POD), "--config", configPath, "--proc-root", dir]);
    assert.equal(code, 0, stdout);
    const selectors = expectedWebAppSelectors(POD, NODE);
    assert.deepEqual(stdout.split("\n"), [
      `locator:   pid ${IN_POD}: pod UID ${POD}, container ID ${CID}`,
      `kubelet:   http://127.0.0.1:${kubelet.port}/pods`,
      `pod:       demo/web-7c9d8f6b5-x2x4k (UID ${POD}), found in pod list 1 of at most 2`,
      "container: app (container status list)",
      `selectors (${selectors.length}):`,
      ...selectors.map((s) => `  k8s:${s}`),
      "",
    ]);
    assert.equal(kubelet.requestCount - before, 1, "one attestation, one pod list");
  });

  it("prints one JSON object with --json", async () => {
    const { code, stdout } = await run([
      "--pid",
      String(IN_POD),
      "--config",
      configPath,
      "--proc-root",
      dir,
      "--json",
    ]);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), { selectors: expectedWebAppSelectors(POD, NODE) });
    assert.equal(stdout.indexOf("\n"), stdout.length - 1, "exactly one line");
  });

  it("reports a process that is not in a container with no selectors (exit 0)", async () => {
    const { code, stdout } = await run(["--pid", String(HOST), "--config", configPath, "--proc-root", dir]);
    assert.equal(code, 0);
    assert.deepEqual(stdout.split("\n"), [
      `locator:   pid ${HOST} is not in a container`,
      `kubelet:   http://127.0.0.1:${kubelet.port}/pods`,
      "selectors (0):",
      "",
    ]);
  });

  it("reports a missing process with its reason, process-gone (exit 1)", async () => {
    const { code, stdout } = await run([
      "--pid",
      String(MISSING),
      "--config",
      configPath,
      "--proc-root",
      dir,
    ]);
    assert.equal(code, 1);
    assert.match(stdout, new RegExp(`^error: {5}process-gone: process ${MISSING} does not exist`));
    const json = await run(["--pid", String(MISSING), "--config", configPath, "--proc-root", dir, "--json"]);
    assert.equal(json.code, 1);
    assert.match(JSON.parse(json.stdout).error, new RegExp(`^process ${MISSING} does not exist`));
  });

  it("refuses an invalid configuration file, naming it and the problem", async () => {
    const bad = join(dir, "bad.hcl");
    await Deno.writeTextFile(bad, "max_poll_attempts = 0\n");
    const { code, stdout } = await run([
      "--pid",
      String(IN_POD),
      "--config",
      bad,
      "--proc-root",
      dir,
      "--json",
    ]);
    assert.equal(code, 1);
    assert.equal(
      JSON.parse(stdout).error,
      `invalid configuration in "${bad}": max_poll_attempts must be greater than zero, got 0`,
    );
  });

  for (
    const [args, reason] of [
      [[], /--pid/],
      [["--pid", "1"], /missing --config/],
      [["--pid", "1", "--config", "x", "--proc-root", ""], /--proc-root must not be empty/],
      [["--pid", "1", "--config", "x", "--bogus"], /bogus/],
    ] as const
  ) {
    it(`rejects bad arguments: ${JSON.stringify(args)}`, async () => {
      const { code, stdout } = await run([...args, "--json"]);
      assert.equal(code, 1);
      const { error } = JSON.parse(stdout);
      assert.match(error, reason);
      assert.ok(
        error.endsWith("usage: attest --pid <N> --config <file.hcl> [--json] [--proc-root <dir>]"),
        error,
      );
    });
  }
});
