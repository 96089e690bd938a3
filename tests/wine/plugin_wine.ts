/**
 * The plugin itself under Wine, driven from Linux: the fake spire-agent (tests/support/host.ts) starts the
 * bundled plugin with the Windows deno.exe, does the go-plugin handshake over TCP, Init and Configure
 * (pointing at a Linux-side fake kubelet), attests the child of a vmcompute.exe stand-in that sits in a
 * `\Container_<id>` job, and unloads; Shutdown must end the process.
 *
 * Run by scripts/test_wine.sh with the Linux deno (not picked up by `deno test tests/`). Needs the
 * variables test_wine.sh exports: K8S_ATTESTOR_WINE64, K8S_ATTESTOR_DENO_EXE, K8S_ATTESTOR_VMCOMPUTE_EXE_UNIX
 * and K8S_ATTESTOR_WINE_BUNDLE (Linux paths), plus WINEPREFIX.
 *
 * @module
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PluginHost, REPO_ROOT } from "../../src/testing/plugin_host.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { releaseRuntimeFlags } from "../../src/testing/release_flags.ts";
import { startVmcomputeHelper } from "./fixtures/start_vmcompute.ts";

const CONTAINER_ID = "5eed0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set (run through scripts/test_wine.sh)`);
  return value;
}

function podList() {
  return {
    kind: "PodList",
    apiVersion: "v1",
    metadata: {},
    items: [{
      metadata: {
        name: "win-web-0",
        namespace: "shop",
        uid: "0b5c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3",
        labels: { app: "win-web" },
      },
      spec: {
        nodeName: "win-node-1",
        serviceAccountName: "win-web",
        containers: [{ name: "web", image: "mcr.example/web:ltsc2022" }],
      },
      status: {
        phase: "Running",
        containerStatuses: [{
          name: "web",
          image: "mcr.example/web:ltsc2022",
          imageID: "mcr.example/web@sha256:" + "1".repeat(64),
          containerID: `containerd://${CONTAINER_ID}`,
          ready: true,
          state: { running: { startedAt: "2026-11-27T00:00:00Z" } },
        }],
      },
    }],
  };
}

/** Starts the vmcompute.exe stand-in under Wine with one container job; returns the child's PID. */
async function startVmcompute(): Promise<{ childPid: number; helperPid: number; stop(): Promise<void> }> {
  const { info, stop } = await startVmcomputeHelper<{ childPid: number; helperPid: number }>(
    [
      env("K8S_ATTESTOR_WINE64"),
      env("K8S_ATTESTOR_VMCOMPUTE_EXE_UNIX"),
      "run",
      "-A",
      "--no-config",
      "--quiet",
      "tests/wine/fixtures/vmcompute_helper.ts",
      CONTAINER_ID,
    ],
    REPO_ROOT,
  );
  return { ...info, stop };
}

describe("the plugin under Wine (deno.exe, go-plugin over TCP)", () => {
  let kubelet: FakeKubelet;
  let vmcompute: { childPid: number; helperPid: number; stop(): Promise<void> };
  let host: PluginHost | undefined;

  before(async () => {
    kubelet = await startFakeKubelet({ pods: podList() });
    vmcompute = await startVmcompute();
  });

  after(async () => {
    await host?.dispose();
    await vmcompute?.stop();
    await kubelet?.stop();
  });

  it("handshakes over TCP, configures, attests a container process and exits on Shutdown", async () => {
    host = await PluginHost.start({
      command: [
        env("K8S_ATTESTOR_WINE64"),
        env("K8S_ATTESTOR_DENO_EXE"),
        "run",
        // Exactly the permissions and V8 flags of the Windows release binary.
        ...releaseRuntimeFlags("compile:windows-x64"),
        "--no-config",
        env("K8S_ATTESTOR_WINE_BUNDLE"),
      ],
      cwd: REPO_ROOT,
    });
    assert.equal(host.handshake.network, "tcp");
    assert.match(host.handshake.address, /^127\.0\.0\.1:\d+$/);

    await host.load({ hcl: `kubelet_read_only_port = ${kubelet.port}\nnode_name = "win-node-1"` });

    const selectors = await host.client.attest(vmcompute.childPid);
    for (
      const s of ["ns:shop", "sa:win-web", "pod-name:win-web-0", "container-name:web", "node-name:win-node-1"]
    ) {
      assert.ok(selectors.includes(s), `${s} in ${JSON.stringify(selectors)}`);
    }
    assert.ok(kubelet.requestCount >= 1);
    // A process in no container job (the vmcompute stand-in itself) gets no selectors.
    assert.deepEqual(await host.client.attest(vmcompute.helperPid), []);

    const exit = await host.unload();
    assert.equal(exit.code, 0);
    assert.equal(exit.killed, false, "Shutdown ended the process");
    assert.deepEqual(host.logProblems(), []);
  });
});
