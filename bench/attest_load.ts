/**
 * Scripted load on the real plugin process: sequential and concurrent Attest calls over go-plugin gRPC
 * against the fake kubelet (read-only port), reported as ratios against a floor measured in the same run
 * (a Health/Check round trip on the same connection: the cost of gRPC itself).
 *
 * The plugin runs with the runtime flags of the Linux release binary. Run: `deno task bench:load`
 * (optionally `N=5000`).
 */
import { join } from "node:path";
import { demoPodList, randomContainerId } from "../src/demo/pods.ts";
import { kubepodsPath } from "../src/testing/cgroups.ts";
import { procStatLine } from "../src/testing/fake_proc.ts";
import { startFakeKubelet } from "../src/testing/fake_kubelet.ts";
import { PluginHost, REPO_ROOT } from "../src/testing/plugin_host.ts";
import { releaseRuntimeFlags } from "../src/testing/release_flags.ts";

const N = Number(Deno.env.get("N") ?? 2000);
const PID = 4242;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function timeSequential(label: string, call: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 50; i++) await call(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await call();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(34)} p50 ${percentile(samples, 0.5).toFixed(3)} ms  p99 ${
      percentile(samples, 0.99).toFixed(3)
    } ms  (${N} calls)`,
  );
  return samples;
}

const root = await Deno.makeTempDir({ prefix: "k8s-attestor-load-" });
const podUid = crypto.randomUUID();
const containerId = randomContainerId();
await Deno.mkdir(join(root, "proc", String(PID)), { recursive: true });
await Deno.writeTextFile(
  join(root, "proc", String(PID), "cgroup"),
  `0::${kubepodsPath("systemd", "burstable", podUid, containerId)}\n`,
);
// The locator confirms the process is unchanged by its start time (/proc/<pid>/stat, read twice).
await Deno.writeTextFile(
  join(root, "proc", String(PID), "stat"),
  `${procStatLine(PID, "workload", 123456)}\n`,
);
const kubelet = await startFakeKubelet({ pods: demoPodList({ podUid, containerId, nodeName: "node-1" }) });
// Run the plugin with the runtime flags of the Linux release binary (permissions, V8 semi-space size).
const releaseFlags = releaseRuntimeFlags("compile:linux-x64");
const host = await PluginHost.start({
  command: [
    Deno.execPath(),
    "run",
    ...releaseFlags,
    "--config",
    join(REPO_ROOT, "deno.json"),
    join(REPO_ROOT, "mod.ts"),
  ],
  args: ["--proc-root", root],
});
try {
  await host.load({ hcl: `kubelet_read_only_port = ${kubelet.port}\n` });
  const floor = await timeSequential("floor: Health/Check", () => host.client.health("plugin"));
  const before = kubelet.requestCount;
  const attest = await timeSequential("Attest (pod in the cached list)", () => host.client.attest(PID));
  const requests = kubelet.requestCount - before;
  console.log(`kubelet requests during ${N} sequential Attests: ${requests}`);

  const burstBefore = kubelet.requestCount;
  await new Promise((r) => setTimeout(r, 600)); // let the cache expire
  const t = performance.now();
  const results = await Promise.all(Array.from({ length: 200 }, () => host.client.attest(PID)));
  const burstMs = performance.now() - t;
  console.log(
    `burst of 200 concurrent Attests: ${burstMs.toFixed(1)} ms, ${
      kubelet.requestCount - burstBefore
    } kubelet request(s), ${results.every((r) => r.length === 21) ? "all" : "NOT all"} with 21 selectors`,
  );
  console.log(
    `ratio Attest/floor: p50 ${(percentile(attest, 0.5) / percentile(floor, 0.5)).toFixed(2)}x, p99 ${
      (percentile(attest, 0.99) / percentile(floor, 0.99)).toFixed(2)
    }x`,
  );
  const status = await Deno.readTextFile(`/proc/${host.child.pid}/status`).catch(() => "");
  const rss = status.match(/VmRSS:\s+(\d+) kB/)?.[1];
  if (rss) console.log(`plugin RSS after the run: ${(Number(rss) / 1024).toFixed(1)} MiB`);
  const exit = await host.unload();
  console.log(`unload: exit code ${exit.code}`);
} finally {
  await host.dispose();
  await kubelet.stop();
  await Deno.remove(root, { recursive: true });
}
