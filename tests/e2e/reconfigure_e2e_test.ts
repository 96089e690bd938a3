/**
 * End to end on Linux (issue 9, finding 6): a real process in a real kubepods cgroup, the plugin loaded as
 * spire-agent loads it, and two real fake kubelets. Configure moves the plugin from kubelet A to kubelet B;
 * from then on nothing is answered from A's pod list: the next attest asks B and gets B's pods, and an
 * attest that was waiting on a slow A when Configure returned fails instead of answering with A's list.
 * Skipped, with the reason, where cgroups cannot be created.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { demoPodList } from "../../src/demo/pods.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import type { PluginHost } from "../../src/testing/plugin_host.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";
import { disposeAll, loadPlugin, unloadCleanly } from "./_agent.ts";
import { cgroupSupport, startWorkload, type Workload } from "./_workload.ts";

const { hierarchies, skip } = await cgroupSupport();

describe(
  "Configure is a clean cut end to end: real cgroup + two kubelets + plugin over go-plugin",
  { skip },
  () => {
    let workload: Workload;
    const kubelets: FakeKubelet[] = [];
    const hosts: PluginHost[] = [];

    before(async () => {
      if (skip) return;
      workload = await startWorkload(hierarchies[0]);
    });

    after(async () => {
      await disposeAll(hosts);
      await workload?.stop();
      for (const k of kubelets) await k.stop();
    });

    /** A kubelet whose list puts the workload on node `node` (the node name shows in the selectors). */
    async function kubeletOn(node: string): Promise<FakeKubelet> {
      const k = await startFakeKubelet({
        pods: demoPodList({ podUid: workload.podUid, containerId: workload.containerId, nodeName: node }),
      });
      kubelets.push(k);
      return k;
    }

    /** A long poll_retry_interval: without the clean cut, A's cached list would answer for an hour. */
    const hcl = (k: FakeKubelet) =>
      `kubelet_read_only_port = ${k.port}\npoll_retry_interval = "1h"\nmax_poll_attempts = 3\n`;

    it("after Configure to kubelet B the next attest asks B and answers with B's pods", async () => {
      const [a, b] = [await kubeletOn("node-a"), await kubeletOn("node-b")];
      const host = await loadPlugin(hcl(a), hosts);
      assert.deepEqual(
        await host.client.attest(workload.pid),
        expectedWebAppSelectors(workload.podUid, "node-a"),
      );
      await host.client.configure(hcl(b));
      assert.deepEqual(
        await host.client.attest(workload.pid),
        expectedWebAppSelectors(workload.podUid, "node-b"),
      );
      assert.equal(a.requestCount, 1, "A was asked once, before the Configure");
      assert.equal(b.requestCount, 1, "B was asked by the attest after the Configure");
      await unloadCleanly(host);
    });

    it("an attest waiting on a slow kubelet A when Configure returns does not answer with A's list", async () => {
      const [a, b] = [await kubeletOn("node-a"), await kubeletOn("node-b")];
      a.setFault({ delayMs: 3_000 });
      const host = await loadPlugin(hcl(a), hosts);
      const waiting = host.client.attest(workload.pid).then(
        (selectors) => ({ selectors, error: null }),
        (error: { code: number; details: string }) => ({ selectors: null, error }),
      );
      while (a.requestCount === 0) await new Promise((r) => setTimeout(r, 5));
      await host.client.configure(hcl(b));
      const outcome = await waiting;
      assert.equal(outcome.selectors, null, "no answer from A's pod list");
      assert.equal(outcome.error?.code, 14, "UNAVAILABLE");
      assert.match(
        outcome.error!.details,
        /^the plugin was reconfigured while this attestation was in progress /,
      );
      assert.deepEqual(
        await host.client.attest(workload.pid),
        expectedWebAppSelectors(workload.podUid, "node-b"),
      );
      assert.equal(a.requestCount, 1);
      assert.equal(b.requestCount, 1);
      await unloadCleanly(host);
    });
  },
);
