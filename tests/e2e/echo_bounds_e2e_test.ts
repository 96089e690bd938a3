/**
 * End to end on Linux (issue 9, finding 10): a kubelet that lists a pod with a 2 MiB label key of the wrong
 * type. Attesting a real process of that pod (in a real kubepods cgroup, through the real plugin over
 * go-plugin) fails with an error that names the field but repeats the key only up to the 4 KiB cut, in the
 * gRPC status and in every log line; a process of another pod in the same list still gets exactly its
 * selectors. Skipped, with the reason, where cgroups cannot be created.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { demoPodList, randomContainerId } from "../../src/demo/pods.ts";
import {
  type CgroupHierarchy,
  detectCgroupSupport,
  type KubepodsCgroup,
  kubepodsPath,
  placeInCgroup,
} from "../../src/testing/cgroups.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { PluginHost } from "../../src/testing/plugin_host.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";

const support = await detectCgroupSupport();
const skip = typeof support === "string" ? `SKIPPED (real cgroups unavailable): ${support}` : false;
if (skip) console.error(`\n*** ${skip} ***\n`);

const NODE = "node-echo";
const UNAVAILABLE = 14;
const utf8 = (s: string) => new TextEncoder().encode(s).length;

interface Workload {
  readonly pid: number;
  readonly podUid: string;
  readonly containerId: string;
  stop(): Promise<void>;
}

/** Starts `sleep` in a fresh burstable kubepods cgroup (systemd naming on v2, cgroupfs on v1). */
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

describe("a huge kubelet-supplied label key is never echoed whole (real cgroups + plugin)", { skip }, () => {
  const hierarchies = typeof support === "string" ? [] : support;
  let kubelet: FakeKubelet;
  const workloads: Workload[] = [];
  let host: PluginHost | null = null;

  before(async () => {
    kubelet = await startFakeKubelet();
  });

  after(async () => {
    await host?.dispose();
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

    host = await PluginHost.start({ env: { MY_NODE_NAME: undefined } });
    await host.load({ hcl: `kubelet_read_only_port = ${kubelet.port}\n`, trustDomain: "example.org" });

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

    const exit = await host.unload();
    assert.deepEqual({ code: exit.code, killed: exit.killed }, { code: 0, killed: false });
    assert.deepEqual(host.logProblems(), []);
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
