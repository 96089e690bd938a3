/**
 * End to end on Linux: a real process in a real kubepods cgroup, the plugin loaded the way spire-agent
 * loads it (go-plugin handshake, broker, Init, Configure, Attest, Deinit, Shutdown) and a fake kubelet
 * over verified TLS with a bearer token. Skipped, with the reason, where cgroups cannot be created.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { demoPodList, randomContainerId } from "../../src/demo/pods.ts";
import { createTestPki, type TestPki } from "../../src/testing/certs.ts";
import {
  type CgroupHierarchy,
  detectCgroupSupport,
  type KubepodsCgroup,
  kubepodsPath,
  placeInCgroup,
} from "../../src/testing/cgroups.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { PluginHost } from "../../src/testing/plugin_host.ts";

const support = await detectCgroupSupport();
const skip = typeof support === "string" ? `SKIPPED (real cgroups unavailable): ${support}` : false;
if (skip) console.error(`\n*** ${skip} ***\n`);

const NODE = "node-e2e";

/** The selectors the web pod's `app` container must get (written out, not computed by the code under test). */
function expectedAppSelectors(podUid: string): string[] {
  return [
    "container-image:registry.example.com/web/app:1.4.2",
    "container-image:registry.example.com/web/app@sha256:0c9e1b7a3d5f2e8c4a6b0d9f1e3c5a7b9d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a",
    "container-name:app",
    ...expectedPodSelectors(podUid),
  ].sort();
}

function expectedPodSelectors(podUid: string): string[] {
  return [
    `node-name:${NODE}`,
    "ns:demo",
    "pod-image-count:2",
    "pod-image:docker.io/envoyproxy/envoy:v1.31.2",
    "pod-image:docker.io/envoyproxy/envoy@sha256:9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9",
    "pod-image:registry.example.com/web/app:1.4.2",
    "pod-image:registry.example.com/web/app@sha256:0c9e1b7a3d5f2e8c4a6b0d9f1e3c5a7b9d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a",
    "pod-init-image-count:1",
    "pod-init-image:registry.example.com/web/migrate:1.4.2",
    "pod-init-image:registry.example.com/web/migrate@sha256:5b3f0c1e9a7d2c4b6e8f0a1c3e5d7b9f1a2c4e6d8b0f2a4c6e8d0b2f4a6c8e0d",
    "pod-label:app:web",
    "pod-label:pod-template-hash:7c9d8f6b5",
    "pod-label:tier:frontend",
    "pod-name:web-7c9d8f6b5-x2x4k",
    "pod-owner-uid:ReplicaSet:6f1c1d3e-0a8b-4b8e-9d0e-3f2a5c7b9e11",
    "pod-owner:ReplicaSet:web-7c9d8f6b5",
    `pod-uid:${podUid}`,
    "sa:web",
  ].sort();
}

interface Workload {
  readonly pid: number;
  readonly podUid: string;
  readonly containerId: string;
  stop(): Promise<void>;
}

/** Starts `sleep` and moves it into a fresh kubepods cgroup (systemd naming on v2, cgroupfs on v1). */
async function startWorkload(hierarchy: CgroupHierarchy): Promise<Workload> {
  const podUid = crypto.randomUUID();
  const containerId = randomContainerId();
  const child = new Deno.Command("sleep", { args: ["120"], stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
  let cgroup: KubepodsCgroup | null = null;
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await cgroup?.remove();
  };
  try {
    const driver = hierarchy.version === 2 ? "systemd" : "cgroupfs";
    cgroup = await placeInCgroup(
      hierarchy,
      kubepodsPath(driver, "burstable", podUid, containerId),
      child.pid,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid, podUid, containerId, stop };
}

describe("attestation end to end: real cgroup + TLS kubelet + plugin over go-plugin", { skip }, () => {
  let pki: TestPki;
  let kubelet: FakeKubelet;
  let tokenPath: string;
  let work: string;
  const hierarchies = typeof support === "string" ? [] : support;
  const hosts: PluginHost[] = [];
  const workloads: Workload[] = [];

  before(async () => {
    work = await Deno.makeTempDir({ prefix: "k8s-attestor-e2e-" });
    pki = await createTestPki();
    const cert = await pki.issueServerCert("kubelet", { dns: [hostname()], ip: ["127.0.0.1"] });
    tokenPath = join(work, "token");
    await Deno.writeTextFile(tokenPath, "e2e-token\n");
    kubelet = await startFakeKubelet({
      tls: { cert: cert.cert, key: cert.key },
      auth: { kind: "token", tokenPath },
    });
  });

  after(async () => {
    for (const host of hosts) await host.dispose();
    for (const w of workloads) await w.stop();
    await kubelet?.stop();
    await pki?.cleanup();
    if (work) await Deno.remove(work, { recursive: true });
  });

  function hcl(extra: string[] = []): string {
    return [
      `kubelet_secure_port = ${kubelet.port}`,
      `kubelet_ca_path = "${pki.ca.certPath}"`,
      `token_path = "${tokenPath}"`,
      ...extra,
    ].join("\n") + "\n";
  }

  async function loadPlugin(config: string): Promise<PluginHost> {
    const host = await PluginHost.start({ env: { MY_NODE_NAME: undefined } });
    hosts.push(host);
    await host.load({ hcl: config, trustDomain: "example.org" });
    return host;
  }

  async function unloadCleanly(host: PluginHost): Promise<void> {
    const exit = await host.unload();
    assert.equal(exit.code, 0);
    assert.equal(exit.killed, false);
    assert.deepEqual(host.logProblems(), []);
  }

  for (const hierarchy of hierarchies) {
    const label = `cgroup v${hierarchy.version} at ${hierarchy.mountPoint}`;

    it(`attests a real process to the exact selectors (${label})`, async () => {
      const w = await startWorkload(hierarchy);
      workloads.push(w);
      kubelet.setPods(demoPodList({ podUid: w.podUid, containerId: w.containerId, nodeName: NODE }));
      const host = await loadPlugin(hcl());
      assert.deepEqual(await host.client.attest(w.pid), expectedAppSelectors(w.podUid));
      assert.deepEqual(await host.client.attest(Deno.pid), [], "the test runner is not in a pod");
      await unloadCleanly(host);
    });

    it(`disable_container_selectors gives the pod selectors only (${label})`, async () => {
      const w = await startWorkload(hierarchy);
      workloads.push(w);
      // The pod is listed but its container is not (yet): matched by pod UID alone.
      const list = demoPodList({ podUid: w.podUid, containerId: randomContainerId(), nodeName: NODE });
      kubelet.setPods(list);
      const host = await loadPlugin(hcl(["disable_container_selectors = true"]));
      assert.deepEqual(await host.client.attest(w.pid), expectedPodSelectors(w.podUid));
      await unloadCleanly(host);
    });
  }

  it("finds a container that is listed only after two refreshes", async () => {
    const w = await startWorkload(hierarchies[0]);
    workloads.push(w);
    const other = demoPodList({
      podUid: crypto.randomUUID(),
      containerId: randomContainerId(),
      nodeName: NODE,
    });
    kubelet.setPods(other);
    const host = await loadPlugin(hcl(['poll_retry_interval = "300ms"', "max_poll_attempts = 10"]));
    const before = kubelet.requestCount;
    const attest = host.client.attest(w.pid);
    // Publish the pod once the plugin has fetched two lists without it: the second request has arrived
    // and, 100 ms later, has long been answered, while the third starts only 300 ms after the second.
    while (kubelet.requestCount - before < 2) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    kubelet.setPods(demoPodList({ podUid: w.podUid, containerId: w.containerId, nodeName: NODE }));
    assert.deepEqual(await attest, expectedAppSelectors(w.podUid));
    assert.equal(kubelet.requestCount - before, 3, "found on the third pod list");
    await unloadCleanly(host);
  });

  it("fails with DeadlineExceeded after exactly max_poll_attempts kubelet requests", async () => {
    const w = await startWorkload(hierarchies[0]);
    workloads.push(w);
    kubelet.setPods(
      demoPodList({ podUid: crypto.randomUUID(), containerId: randomContainerId(), nodeName: NODE }),
    );
    const host = await loadPlugin(hcl(['poll_retry_interval = "50ms"', "max_poll_attempts = 4"]));
    const before = kubelet.requestCount;
    await assert.rejects(host.client.attest(w.pid), (err: { code: number; details: string }) => {
      assert.equal(err.code, 4, "DEADLINE_EXCEEDED");
      assert.match(err.details, /^no selectors found after max poll attempts/);
      assert.ok(err.details.includes(w.containerId), "the message names the container ID");
      return true;
    });
    assert.equal(kubelet.requestCount - before, 4);
    await unloadCleanly(host);
  });

  it("reports the kubelet error as Unavailable when the kubelet rejects the token", async () => {
    const w = await startWorkload(hierarchies[0]);
    workloads.push(w);
    kubelet.setPods(demoPodList({ podUid: w.podUid, containerId: w.containerId, nodeName: NODE }));
    const wrongToken = join(work, "wrong-token");
    await Deno.writeTextFile(wrongToken, "not-the-token\n");
    const host = await loadPlugin(
      hcl(['poll_retry_interval = "50ms"', "max_poll_attempts = 2"]).replace(tokenPath, wrongToken),
    );
    await assert.rejects(host.client.attest(w.pid), (err: { code: number; details: string }) => {
      assert.equal(err.code, 14, "UNAVAILABLE");
      assert.match(err.details, /unexpected status code on pods response: 401/);
      assert.ok(!err.details.includes("not-the-token"), "the token never appears in errors");
      return true;
    });
    assert.ok(!host.stderrLines.some((l) => l.includes("not-the-token")), "the token never appears in logs");
    await unloadCleanly(host);
  });
});
