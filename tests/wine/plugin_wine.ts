/**
 * The plugin itself under Wine, driven from Linux: the fake spire-agent (src/testing/plugin_host.ts) starts the
 * bundled plugin with the Windows deno.exe, does the go-plugin handshake over TCP, Init and Configure
 * (pointing at a Linux-side fake kubelet), attests the child of a vmcompute.exe stand-in that sits in a
 * `\Container_<id>` job, and unloads; Shutdown must end the process. With an `experimental.sigstore` block
 * and the `SIGSTORE_*` trust files given as Z: paths, the plugin verifies a cosign-signed image in the Linux
 * side's docker-registry on 127.0.0.1 (plain HTTP, as for any loopback registry) and fails an unsigned one.
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
import { podList, type WinWebPod, winWebPod, winWebSelectors } from "../windows/_win_web_pod.ts";
import { startVmcomputeHelper } from "./fixtures/start_vmcompute.ts";
import { registryTestGate, startTestRegistry } from "../../src/testing/registry.ts";
import { pushSignedImage } from "../../src/testing/signed_images.ts";
import {
  createSigstoreFixture,
  FIXTURE_INTEGRATED_TIME,
  FIXTURE_SUBJECT,
} from "../../src/testing/sigstore_fixtures.ts";
import { closedPortUrl, sigstoreHcl } from "../e2e/_sigstore.ts";

const CONTAINER_ID = "5eed0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
/** The container of the process that exits while the kubelet answer is held. */
const EXITING_CONTAINER_ID = "e7170123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
const EXITING_UID = "5f0c5d1e-9a8b-4c7d-8e6f-1a2b3c4d5e6f";
const IMAGE_ID = `mcr.example/web@sha256:${"1".repeat(64)}`;

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set (run through scripts/test_wine.sh)`);
  return value;
}

/** win-web-0, whose `web` container runs in the vmcompute stand-in's job. */
function winWeb(): WinWebPod {
  return winWebPod({ containerId: CONTAINER_ID, imageId: IMAGE_ID, startedAt: "2026-11-27T00:00:00Z" });
}

/** The selectors of win-web-0's `web` container, written out by hand. */
const WIN_WEB_SELECTORS = winWebSelectors(IMAGE_ID);

/** A second pod, whose container's process exits while the kubelet answer is held. */
function exitingPod(): WinWebPod {
  const pod = winWeb();
  pod.metadata = { name: "exiting-0", namespace: "shop", uid: EXITING_UID, labels: { app: "exiting" } };
  pod.status.containerStatuses[0].containerID = `containerd://${EXITING_CONTAINER_ID}`;
  return pod;
}

interface Vmcompute {
  childPid: number;
  helperPid: number;
  command(line: string): Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts the vmcompute.exe stand-in under Wine with one container job; returns the child's PID. */
async function startVmcompute(containerId = CONTAINER_ID): Promise<Vmcompute> {
  const { info, command, stop } = await startVmcomputeHelper<{ childPid: number; helperPid: number }>(
    [
      env("K8S_ATTESTOR_WINE64"),
      env("K8S_ATTESTOR_VMCOMPUTE_EXE_UNIX"),
      "run",
      "-A",
      "--no-config",
      "--quiet",
      "tests/wine/fixtures/vmcompute_helper.ts",
      containerId,
    ],
    REPO_ROOT,
  );
  return { ...info, command, stop };
}

/** The Z: drive path Wine maps a Linux path to (as tools/wine/env.sh's `to_wine_path`). */
function toWinePath(path: string): string {
  return `Z:${path.replaceAll("/", "\\")}`;
}

/** Starts the plugin as the Windows release runs it: bundle + deno.exe under Wine. */
function startPlugin(extraEnv: Record<string, string> = {}): Promise<PluginHost> {
  return PluginHost.start({
    env: extraEnv,
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
}

describe("the plugin under Wine (deno.exe, go-plugin over TCP)", () => {
  let kubelet: FakeKubelet;
  let vmcompute: Vmcompute;
  let host: PluginHost | undefined;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    kubelet = await startFakeKubelet({ pods: podList(winWeb()) });
    vmcompute = await startVmcompute();
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await host?.dispose();
    await vmcompute?.stop();
    await kubelet?.stop();
  });

  it("handshakes over TCP, configures, attests a container process and exits on Shutdown", async () => {
    host = await startPlugin();
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

  it("a container process that exits while the kubelet answer is held gets NOT_FOUND; another gets its selectors", async () => {
    const exiting = await startVmcompute(EXITING_CONTAINER_ID);
    cleanups.push(() => exiting.stop());
    kubelet.setPods(podList(winWeb(), exitingPod()));
    const plugin = await startPlugin();
    cleanups.push(() => plugin.dispose());
    await plugin.load({
      hcl: `kubelet_read_only_port = ${kubelet.port}\nnode_name = "win-node-1"\npoll_retry_interval = "50ms"`,
    });

    kubelet.setFault({ delayMs: 4000 });
    try {
      const asked = kubelet.requestCount;
      const answered = kubelet.requests.length;
      const settle = (call: Promise<string[]>) =>
        call.then((selectors) => ({ selectors }), (err: { code: number; details: string }) => err);
      const gone = settle(plugin.client.attest(exiting.childPid));
      // The plugin asks the kubelet only after its first job lookup, which found the container.
      while (kubelet.requestCount === asked) await new Promise((r) => setTimeout(r, 5));
      const witness = settle(plugin.client.attest(vmcompute.childPid));
      assert.deepEqual(await exiting.command("kill-child"), { killed: exiting.childPid });
      assert.equal(kubelet.requests.length, answered, "the child exited before the kubelet answered");

      const goneResult = await gone;
      assert.ok("code" in goneResult, `expected an error, got ${JSON.stringify(goneResult)}`);
      assert.equal(goneResult.code, 5, `NOT_FOUND: ${goneResult.details}`);
      assert.match(
        goneResult.details,
        new RegExp(
          `^process ${exiting.childPid} could not be located again after its pod matched: failed to get ` +
            `container ID: failed to open child process: process ${exiting.childPid} does not exist`,
        ),
      );
      assert.deepEqual(await witness, { selectors: WIN_WEB_SELECTORS });
    } finally {
      kubelet.setFault(null);
    }
    const exit = await plugin.unload();
    assert.equal(exit.code, 0);
    assert.deepEqual(plugin.logProblems(), []);
  });

  it("verifies a cosign-signed image from the registry on 127.0.0.1 with SIGSTORE_* trust files on Z:", async (t) => {
    const gate = await registryTestGate();
    if (gate.mustFail) assert.fail(gate.mustFail);
    if (gate.skip) return t.skip(gate.skip);
    const registry = await startTestRegistry();
    cleanups.push(() => registry.stop());
    const fx = await createSigstoreFixture();
    const trustDir = await Deno.makeTempDir({ prefix: "k8s-attestor-wine-trust-" });
    cleanups.push(() => Deno.remove(trustDir, { recursive: true }));
    const trust = await fx.writeTrustFiles(trustDir);
    const signed = await pushSignedImage(registry, registry.host, "win/web", fx, [{}]);
    const unsigned = await pushSignedImage(registry, registry.host, "win/web", fx, []);
    kubelet.setPods(
      podList(
        winWebPod({ containerId: CONTAINER_ID, imageId: signed.imageId, startedAt: "2026-11-27T00:00:00Z" }),
      ),
    );

    const plugin = await startPlugin(
      Object.fromEntries(Object.entries(trust.env).map(([name, path]) => [name, toWinePath(path)])),
    );
    cleanups.push(() => plugin.dispose());
    const hcl =
      `kubelet_read_only_port = ${kubelet.port}\nnode_name = "win-node-1"\npoll_retry_interval = "50ms"\n` +
      sigstoreHcl({ rekorUrl: closedPortUrl() });
    await plugin.load({ hcl });

    const c = `containerd://${CONTAINER_ID}`;
    assert.deepEqual(
      await plugin.client.attest(vmcompute.childPid),
      [
        ...winWebSelectors(signed.imageId),
        `${c}:image-signature-subject:${FIXTURE_SUBJECT}`,
        `${c}:image-signature-content:${signed.signatures[0].signature.signatureB64}`,
        `${c}:image-signature-logid:${fx.rekor.logId}`,
        `${c}:image-signature-integrated-time:${FIXTURE_INTEGRATED_TIME}`,
        "sigstore-validation:passed",
      ].sort(),
    );

    // An unsigned image fails the attestation.
    kubelet.setPods(
      podList(
        winWebPod({
          containerId: CONTAINER_ID,
          imageId: unsigned.imageId,
          startedAt: "2026-11-27T00:00:00Z",
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(
      plugin.client.attest(vmcompute.childPid),
      (err: { code: number; details: string }) => {
        assert.equal(err.code, 13, "INTERNAL");
        assert.equal(err.details, `no signatures found for image ${unsigned.imageId}`);
        return true;
      },
    );

    const exit = await plugin.unload();
    assert.equal(exit.code, 0);
    assert.deepEqual(plugin.logProblems(), []);
  });
});
