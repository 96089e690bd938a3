/**
 * End to end on Linux: a real process in a real kubepods cgroup, the plugin loaded the way spire-agent
 * loads it (go-plugin handshake, broker, Init, Configure, Attest, Deinit, Shutdown) and a fake kubelet
 * over verified TLS with a bearer token. Skipped, with the reason, where cgroups cannot be created.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { demoPodList, randomContainerId } from "../../src/demo/pods.ts";
import type { FakeKubelet } from "../../src/testing/fake_kubelet.ts";
import type { PluginHost } from "../../src/testing/plugin_host.ts";
import { startTlsKubelet, type TlsKubelet } from "../../src/testing/tls_kubelet.ts";
import { expectedWebAppSelectors, expectedWebPodSelectors } from "../testdata/demo_pod_selectors.ts";
import { disposeAll, loadPlugin, unloadCleanly } from "./_agent.ts";
import { cgroupSupport, startWorkload, type Workload } from "./_workload.ts";

const { hierarchies, skip } = await cgroupSupport();

const NODE = "node-e2e";

describe("attestation end to end: real cgroup + TLS kubelet + plugin over go-plugin", { skip }, () => {
  let tls: TlsKubelet;
  let kubelet: FakeKubelet;
  const hosts: PluginHost[] = [];
  const workloads: Workload[] = [];

  before(async () => {
    tls = await startTlsKubelet({ token: "e2e-token", prefix: "k8s-attestor-e2e-" });
    kubelet = tls.kubelet;
  });

  after(async () => {
    await disposeAll(hosts);
    for (const w of workloads) await w.stop();
    await tls?.stop();
  });

  for (const hierarchy of hierarchies) {
    const label = `cgroup v${hierarchy.version} at ${hierarchy.mountPoint}`;

    it(`attests a real process to the exact selectors (${label})`, async () => {
      const w = await startWorkload(hierarchy);
      workloads.push(w);
      kubelet.setPods(demoPodList({ podUid: w.podUid, containerId: w.containerId, nodeName: NODE }));
      const host = await loadPlugin(tls.hcl(), hosts);
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
      const host = await loadPlugin(tls.hcl(["disable_container_selectors = true"]), hosts);
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
    const host = await loadPlugin(
      tls.hcl(['poll_retry_interval = "300ms"', "max_poll_attempts = 10"]),
      hosts,
    );
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
    const host = await loadPlugin(tls.hcl(['poll_retry_interval = "50ms"', "max_poll_attempts = 4"]), hosts);
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
    const wrongToken = join(tls.dir, "wrong-token");
    await Deno.writeTextFile(wrongToken, "not-the-token\n");
    const host = await loadPlugin(
      tls.hcl(['poll_retry_interval = "50ms"', "max_poll_attempts = 2"]).replace(tls.tokenPath, wrongToken),
      hosts,
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
