/**
 * End to end on Linux (issue 9, finding 10): a kubelet that lists a pod with a 2 MiB label key of the wrong
 * type. Attesting a real process of that pod (in a real kubepods cgroup, through the real plugin over
 * go-plugin) fails with an error that names the field but repeats the key only up to the 4 KiB cut, in the
 * gRPC status and in every log line; a process of another pod in the same list still gets exactly its
 * selectors. Skipped, with the reason, where cgroups cannot be created.
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

const NODE = "node-echo";
const UNAVAILABLE = 14;
const utf8 = (s: string) => new TextEncoder().encode(s).length;

describe("a huge kubelet-supplied label key is never echoed whole (real cgroups + plugin)", { skip }, () => {
  let kubelet: FakeKubelet;
  const workloads: Workload[] = [];
  const hosts: PluginHost[] = [];

  before(async () => {
    kubelet = await startFakeKubelet();
  });

  after(async () => {
    await disposeAll(hosts);
    for (const w of workloads) await w.stop();
    await kubelet?.stop();
  });

  it("the status and the log lines carry at most 4 KiB of it; another pod still attests", async () => {
    const victim = await startWorkload(hierarchies[0]);
    workloads.push(victim);
    const bystander = await startWorkload(hierarchies[0]);
    workloads.push(bystander);
    const key = "L".repeat(2 * 1024 * 1024);
    const bad = demoPodList({ podUid: victim.podUid, containerId: victim.containerId, nodeName: NODE });
    const isWeb = (pod: unknown) => (pod as { metadata: { name: string } }).metadata.name.startsWith("web-");
    const web = bad.items.find(isWeb) as { metadata: { labels: Record<string, unknown> } };
    web.metadata.labels[key] = 42; // a label value must be a string: the pod cannot be decoded
    const good = demoPodList({
      podUid: bystander.podUid,
      containerId: bystander.containerId,
      nodeName: NODE,
    });
    kubelet.setPods({ kind: "PodList", apiVersion: "v1", items: [web, good.items.find(isWeb)] });

    const host = await loadPlugin(`kubelet_read_only_port = ${kubelet.port}\n`, hosts);

    await assert.rejects(host.client.attest(victim.pid), (e: { code: number; details: string }) => {
      assert.equal(e.code, UNAVAILABLE, e.details?.slice(0, 200));
      assert.ok(
        e.details.startsWith(`unable to decode pod info from kubelet response: pod "${victim.podUid}": `),
        e.details.slice(0, 200),
      );
      assert.ok(e.details.includes("metadata.labels.LLLL"), "the field is named");
      assert.equal(e.details.length, 4096);
      assert.match(e.details, /\.\.\.\(truncated, \d{7} bytes\)$/);
      return true;
    });
    assert.deepEqual(
      await host.client.attest(bystander.pid),
      expectedWebAppSelectors(bystander.podUid, NODE),
    );

    await unloadCleanly(host);
    const logged = host.logEntries().filter((entry) => JSON.stringify(entry).includes("LLLL"));
    assert.ok(logged.length > 0, "the failure is logged");
    for (const line of host.stderrLines) {
      assert.ok(utf8(line) < 16 * 1024, `a log line of ${utf8(line)} bytes`);
    }
    for (const entry of logged) {
      for (const value of Object.values(entry.fields)) {
        if (typeof value === "string") assert.ok(utf8(value) <= 4096, `a field of ${utf8(value)} bytes`);
      }
    }
  });
});
