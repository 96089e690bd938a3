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
import { expectedWebAppSelectors, expectedWebPodSelectors } from "../testdata/demo_pod_selectors.ts";

const support = await detectCgroupSupport();
const skip = typeof support === "string" ? `SKIPPED (real cgroups unavailable): ${support}` : false;
if (skip) console.error(`\n*** ${skip} ***\n`);

const NODE = "node-e2e";

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
      assert.deepEqual(await host.client.attest(w.pid), expectedWebAppSelectors(w.podUid, NODE));
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
      assert.deepEqual(await host.client.attest(w.pid), expectedWebPodSelectors(w.podUid, NODE));
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
    assert.deepEqual(await attest, expectedWebAppSelectors(w.podUid, NODE));
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
