/**
 * The large-pod-list stage of `deno task bench:table`: the plugin serves a 250-pod node with a light steady
 * load (an Attest every 50 ms), its RSS level is taken, then the kubelet answers once with a ~10 MB pod list
 * (one cold Attest of a workload in it), then the 250-pod list again; the stage reports the peak and how long
 * the RSS takes to come back within 20 MiB of the level before (target: within a minute). Linux only
 * (reads `/proc/<pid>/status`).
 *
 * @module
 */

import { startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { PluginHost } from "../../src/testing/plugin_host.ts";
import { median, type Row } from "./report.ts";
import { NODE_NAME, syntheticNode, syntheticNodeOfSize, writeProcRoot } from "./pods.ts";

/** Settings of the large-list stage. */
export interface MemorySettings {
  /** Pods of the normal node. */
  readonly pods: number;
  /** Size of the large list, bytes. */
  readonly largeBytes: number;
  /** Seconds of steady load before the level is taken. */
  readonly warmS: number;
  /** Seconds to wait at most for the RSS to come back (the target is 60). */
  readonly windowS: number;
}

/** Raw results of the large-list stage. */
export interface MemoryRaw {
  readonly largeBytes: number;
  readonly largePods: number;
  readonly beforeMiB: number;
  readonly peakMiB: number;
  readonly hwmMiB: number;
  readonly largeAttestMs: number;
  /** Seconds after the large Attest when RSS was back within 20 MiB, or null. */
  readonly backAfterS: number | null;
  readonly endMiB: number;
  readonly windowS: number;
  readonly samples: { t_s: number; rss_mib: number }[];
}

/** How far above the level before the RSS may stay. */
export const RETURN_MIB = 20;

function memory(pid: number): { rss: number; hwm: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The row of the large-list stage.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryRow } from "./memory.ts";
 * const raw = {
 *   largeBytes: 1e7, largePods: 4400, beforeMiB: 80, peakMiB: 300, hwmMiB: 310, largeAttestMs: 200,
 *   backAfterS: 12, endMiB: 95, windowS: 60, samples: [],
 * };
 * assert.equal(memoryRow(raw).verdict, "pass");
 * assert.equal(memoryRow({ ...raw, backAfterS: null, endMiB: 150 }).verdict, "FAIL");
 * ```
 *
 * @param raw The raw results.
 * @returns The row.
 */
export function memoryRow(raw: MemoryRaw): Row {
  const back = raw.backAfterS !== null && raw.backAfterS <= 60;
  return {
    id: "rss-large-list",
    what: `RSS after one ${
      (raw.largeBytes / 1e6).toFixed(0)
    } MB pod list (${raw.largePods} pods), back to the level before`,
    ours: raw.endMiB,
    floor: raw.beforeMiB,
    unit: "MiB",
    ratio: null,
    target: `within ${RETURN_MIB} MiB of before in ≤ 60 s`,
    verdict: back ? "pass" : "FAIL",
    detail:
      `floor column: RSS before; peak ${raw.peakMiB.toFixed(0)} MiB (VmHWM ${raw.hwmMiB.toFixed(0)}), ` +
      `the large cold Attest took ${raw.largeAttestMs.toFixed(0)} ms; ` +
      (raw.backAfterS !== null
        ? `back after ${raw.backAfterS.toFixed(1)} s`
        : `NOT back after ${raw.windowS} s (ours column: RSS then)`),
  };
}

/**
 * Runs the large-list stage.
 *
 * @param settings Sizes and times.
 * @param pluginCommand The plugin command for a proc root.
 * @param work A scratch directory of this run.
 * @returns The row and the raw results.
 */
export async function runMemoryStage(
  settings: MemorySettings,
  pluginCommand: (procRoot: string) => string[],
  work: string,
): Promise<{ rows: Row[]; raw: MemoryRaw }> {
  const root = await Deno.makeTempDir({ dir: work, prefix: "memory-" });
  const small = syntheticNode(settings.pods, 1, 4242, 31);
  const large = syntheticNodeOfSize(settings.largeBytes, 5000, 32);
  await writeProcRoot(root, [...small.workloads, ...large.workloads]);
  const kubelet = await startFakeKubelet();
  kubelet.setPodsBody(small.body);
  const host = await PluginHost.start({ command: pluginCommand(root) });
  const pid = host.child.pid;
  let running = false;
  let failures = 0;
  const startSteady = async () => {
    running = true;
    while (running) {
      await host.client.attest(small.workloads[0].pid).catch(() => failures++);
      await sleep(50);
    }
  };
  let steady: Promise<void> = Promise.resolve();
  try {
    await host.load({ hcl: `kubelet_read_only_port = ${kubelet.port}\nnode_name = "${NODE_NAME}"\n` });
    steady = startSteady();
    await sleep(settings.warmS * 1000);
    const levels: number[] = [];
    for (let i = 0; i < 5; i++) {
      levels.push(memory(pid).rss);
      await sleep(200);
    }
    const beforeMiB = median(levels);

    // The large list, once: the steady load pauses (its workload is not in the large list).
    running = false;
    await steady;
    kubelet.setPodsBody(large.body);
    await sleep(600); // older than poll_retry_interval (500 ms): the next Attest fetches
    let peakMiB = memory(pid).rss;
    const sampler = setInterval(() => peakMiB = Math.max(peakMiB, memory(pid).rss), 20);
    const t = performance.now();
    const selectors = await host.client.attest(large.workloads[0].pid);
    const largeAttestMs = performance.now() - t;
    clearInterval(sampler);
    if (selectors.length === 0) throw new Error("the Attest of the large list gave no selectors");
    kubelet.setPodsBody(small.body);

    steady = startSteady();
    const samples: { t_s: number; rss_mib: number }[] = [];
    const start = performance.now();
    let backAfterS: number | null = null;
    let endMiB = memory(pid).rss;
    while ((performance.now() - start) / 1000 < settings.windowS) {
      await sleep(500);
      endMiB = memory(pid).rss;
      peakMiB = Math.max(peakMiB, endMiB);
      const ts = (performance.now() - t) / 1000;
      samples.push({ t_s: ts, rss_mib: endMiB });
      if (endMiB <= beforeMiB + RETURN_MIB) {
        backAfterS = ts;
        break;
      }
    }
    running = false;
    await steady;
    const hwmMiB = memory(pid).hwm;
    if (failures > 0) throw new Error(`${failures} Attests of the steady load failed`);
    await host.unload();
    const raw: MemoryRaw = {
      largeBytes: large.body.length,
      largePods: large.pods,
      beforeMiB,
      peakMiB,
      hwmMiB,
      largeAttestMs,
      backAfterS,
      endMiB,
      windowS: settings.windowS,
      samples,
    };
    return { rows: [memoryRow(raw)], raw };
  } finally {
    running = false;
    await steady.catch(() => {});
    await host.dispose();
    await kubelet.stop();
  }
}
