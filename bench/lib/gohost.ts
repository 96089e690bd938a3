/**
 * The go-plugin stage of `deno task bench:table`: runs `.gohost/gohost bench` (tools/gohost/bench.go), which
 * loads the plugin and the fixed-answer floor plugin (`.gohost/gofloor`, tools/gofloor) through the real
 * go-plugin client and grpc-go, interleaves rounds of Attest on both and of Health/Check on the plugin at
 * each concurrency, reads the idle RSS, and (optionally) drives Attest at a fixed rate while sampling RSS.
 * The node is a synthetic 250-pod node on the fake kubelet's read-only port.
 *
 * @module
 */

import { join } from "node:path";
import { startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { REPO_ROOT } from "../../src/testing/plugin_process.ts";
import { atMost, median, type Row } from "./report.ts";
import { NODE_NAME, syntheticNode, writeProcRoot } from "./pods.ts";

/** Where scripts/gohost_setup.sh puts the host. */
export const GOHOST = join(REPO_ROOT, ".gohost", "gohost");
/** Where scripts/gohost_setup.sh puts the floor plugin. */
export const GOFLOOR = join(REPO_ROOT, ".gohost", "gofloor");

/** Settings of the go-plugin stage. */
export interface GoHostSettings {
  /** Pods on the node. */
  readonly pods: number;
  /** Workload processes (attested round-robin). */
  readonly workloads: number;
  /** Timed rounds. */
  readonly rounds: number;
  /** Calls per round, subject and concurrency. */
  readonly calls: number;
  /** Concurrencies (the targets are about 1 and 16). */
  readonly concurrency: readonly number[];
  /** Untimed calls before the rounds. */
  readonly warmup: number;
  /** Calls in the fixed-rate phase (0: none). */
  readonly rateCalls: number;
  /** Rate of the fixed-rate phase, calls per second. */
  readonly rate: number;
  /** Seconds to let the plugin settle before the idle RSS is read. */
  readonly settleS: number;
}

interface GoRound {
  concurrency: number;
  ours_p50_us: number;
  ours_p99_us: number;
  floor_p50_us: number;
  floor_p99_us: number;
  health_p50_us: number;
  health_p99_us: number;
  ours_calls_per_s: number;
  floor_calls_per_s: number;
}

interface GoRate {
  target_per_s: number;
  calls: number;
  errors: number;
  skipped: number;
  elapsed_s: number;
  achieved_per_s: number;
  p50_us: number;
  p99_us: number;
  rss_before_kib: number;
  rss_samples: { t_s: number; rss_kib: number }[];
  rss_after_kib: number;
  hwm_kib: number;
}

/** What `gohost bench` prints (one JSON document). */
export interface GoBenchReport {
  selectors: number;
  ours_load_ms: number;
  floor_load_ms: number;
  ours_rss_idle_kib: number;
  floor_rss_idle_kib: number;
  rounds: GoRound[];
  rate?: GoRate;
  attest_errors: number;
}

/** @returns Whether the Go host and the floor plugin are built. */
export async function goHostBuilt(): Promise<boolean> {
  for (const f of [GOHOST, GOFLOOR]) {
    try {
      if (!(await Deno.stat(f)).isFile) return false;
    } catch {
      return false;
    }
  }
  return true;
}

const MiB = (kib: number) => kib / 1024;

/** Maximum growth (MiB) between the first and the last fifth of the load that still counts as flat. */
export const FLAT_MIB = 10;

/**
 * The rows of the go-plugin stage from a `gohost bench` report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goHostRows } from "./gohost.ts";
 * const round = (c: number, ours: number) => ({
 *   concurrency: c, ours_p50_us: ours, ours_p99_us: 0, floor_p50_us: 100, floor_p99_us: 0,
 *   health_p50_us: 200, health_p99_us: 0, ours_calls_per_s: 0, floor_calls_per_s: 0,
 * });
 * const rows = goHostRows({
 *   selectors: 21, ours_load_ms: 0, floor_load_ms: 0, ours_rss_idle_kib: 60 * 1024, floor_rss_idle_kib: 0,
 *   rounds: [round(1, 150), round(16, 400), round(1, 250)], attest_errors: 0,
 * }, 250);
 * assert.equal(rows[0].ratio, 2);      // median of the per-round ratios 1.5 and 2.5
 * assert.equal(rows[0].verdict, "pass");
 * assert.equal(rows[1].verdict, "FAIL"); // 4× at concurrency 16
 * ```
 *
 * @param r The report.
 * @param pods Pods on the node (for the labels).
 * @returns The rows: Attest vs the Go floor per concurrency, Attest vs Health/Check, idle RSS, RSS under load.
 */
export function goHostRows(r: GoBenchReport, pods: number): Row[] {
  const rows: Row[] = [];
  const concs = [...new Set(r.rounds.map((x) => x.concurrency))];
  const errors = r.attest_errors > 0 ? `; ${r.attest_errors} FAILED calls` : "";
  for (const c of concs) {
    const rounds = r.rounds.filter((x) => x.concurrency === c);
    const ratio = median(rounds.map((x) => x.ours_p50_us / x.floor_p50_us));
    const limit = c === 1 ? 2 : 3;
    rows.push({
      id: `attest-gohost-c${c}`,
      what: `Attest p50, go-plugin host, concurrency ${c} (${pods}-pod node, cached list)`,
      ours: median(rounds.map((x) => x.ours_p50_us)),
      floor: median(rounds.map((x) => x.floor_p50_us)),
      unit: "µs",
      ratio,
      target: `≤ ${limit.toFixed(1)}× (fixed-answer Go plugin)`,
      verdict: r.attest_errors > 0 ? "FAIL" : atMost(ratio, limit),
      detail: `${rounds.length} rounds; p99 ours ${
        Math.round(median(rounds.map((x) => x.ours_p99_us)))
      } µs, ` +
        `floor ${Math.round(median(rounds.map((x) => x.floor_p99_us)))} µs; throughput ours ` +
        `${Math.round(median(rounds.map((x) => x.ours_calls_per_s)))}/s, floor ` +
        `${Math.round(median(rounds.map((x) => x.floor_calls_per_s)))}/s${errors}`,
    });
  }
  const c1 = r.rounds.filter((x) => x.concurrency === 1);
  if (c1.length > 0) {
    const ratio = median(c1.map((x) => x.ours_p50_us / x.health_p50_us));
    rows.push({
      id: "attest-vs-noop",
      what: "Attest p50 vs a no-op RPC (Health/Check) on our server, concurrency 1",
      ours: median(c1.map((x) => x.ours_p50_us)),
      floor: median(c1.map((x) => x.health_p50_us)),
      unit: "µs",
      ratio,
      target: "≤ 1.3×",
      verdict: r.attest_errors > 0 ? "FAIL" : atMost(ratio, 1.3),
      detail: `same go-plugin host and connection; ${c1.length} rounds${errors}`,
    });
  }
  const idle = MiB(r.ours_rss_idle_kib);
  rows.push({
    id: "rss-idle",
    what: `RSS idle (loaded, configured, ${pods}-pod list cached)`,
    ours: idle,
    floor: MiB(r.floor_rss_idle_kib),
    unit: "MiB",
    ratio: null,
    target: "≤ 70 MiB",
    verdict: atMost(idle, 70),
    detail: "floor column: the fixed-answer Go plugin, for scale",
  });
  if (r.rate) rows.push(rateRow(r.rate, pods));
  return rows;
}

function rateRow(rate: GoRate, pods: number): Row {
  const samples = (rate.rss_samples ?? []).map((s) => MiB(s.rss_kib));
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const growth = samples.length >= 2 ? median(samples.slice(-fifth)) - median(samples.slice(0, fifth)) : null;
  const peak = samples.length ? Math.max(...samples, MiB(rate.rss_after_kib)) : MiB(rate.rss_after_kib);
  const keptUp = rate.achieved_per_s >= 0.95 * rate.target_per_s && rate.skipped === 0;
  const ok = peak <= 100 && growth !== null && growth <= FLAT_MIB && keptUp && rate.errors === 0;
  const why = [
    peak > 100 ? "above 100 MiB" : "",
    growth === null || growth > FLAT_MIB ? `not flat (> ${FLAT_MIB} MiB growth)` : "",
    keptUp ? "" : "did not keep up with the rate",
    rate.errors ? `${rate.errors} failed calls` : "",
  ].filter(Boolean).join(", ");
  return {
    id: "rss-load",
    what: `RSS peak over ${rate.calls} Attests at ${rate.target_per_s}/s (${pods}-pod node)`,
    ours: peak,
    floor: null,
    unit: "MiB",
    ratio: null,
    target: `≤ 100 MiB, flat (≤ ${FLAT_MIB} MiB growth)`,
    verdict: ok ? "pass" : "FAIL",
    detail: `before ${MiB(rate.rss_before_kib).toFixed(0)} MiB, growth first→last fifth ` +
      `${growth === null ? "—" : `${growth >= 0 ? "+" : ""}${growth.toFixed(1)} MiB`}; achieved ` +
      `${
        Math.round(rate.achieved_per_s)
      }/s, ${rate.skipped} skipped (> 512 in flight), ${rate.errors} errors; ` +
      `p50 ${Math.round(rate.p50_us)} µs, p99 ${Math.round(rate.p99_us / 1000)} ms${why ? `; ${why}` : ""}`,
  };
}

/**
 * Runs the go-plugin stage.
 *
 * @param settings Sizes and counts.
 * @param pluginCommand The plugin command for a proc root.
 * @param work A scratch directory of this run.
 * @returns The rows and the raw report.
 */
export async function runGoHostStage(
  settings: GoHostSettings,
  pluginCommand: (procRoot: string) => string[],
  work: string,
): Promise<{ rows: Row[]; raw: GoBenchReport }> {
  const root = await Deno.makeTempDir({ dir: work, prefix: "gohost-" });
  const node = syntheticNode(settings.pods, settings.workloads, 4242, 11);
  await writeProcRoot(root, node.workloads);
  const kubelet = await startFakeKubelet();
  kubelet.setPodsBody(node.body);
  try {
    const hclFile = join(root, "plugin.hcl");
    await Deno.writeTextFile(
      hclFile,
      `kubelet_read_only_port = ${kubelet.port}\nnode_name = "${NODE_NAME}"\n`,
    );
    const out = await new Deno.Command(GOHOST, {
      args: [
        "bench",
        "-hcl-file",
        hclFile,
        "-floor",
        GOFLOOR,
        "-pids",
        node.workloads.map((w) => w.pid).join(","),
        "-rounds",
        String(settings.rounds),
        "-calls",
        String(settings.calls),
        "-concurrency",
        settings.concurrency.join(","),
        "-warmup",
        String(settings.warmup),
        "-settle",
        `${settings.settleS}s`,
        "-rate",
        String(settings.rate),
        "-rate-calls",
        String(settings.rateCalls),
        "--",
        ...pluginCommand(root),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    if (!out.success) {
      throw new Error(
        `gohost bench failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
      );
    }
    const raw = JSON.parse(stdout) as GoBenchReport;
    return { rows: goHostRows(raw, settings.pods), raw };
  } finally {
    await kubelet.stop();
  }
}
