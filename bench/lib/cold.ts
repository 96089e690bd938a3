/**
 * The cold-Attest stage of `deno task bench:table`: for each pod count and for plain HTTP (read-only port)
 * and TLS (secure port, verified CA, bearer token), the time of an Attest whose pod list must be fetched
 * (`poll_retry_interval = "1ms"` and a pause before each call, checked by counting kubelet requests), against
 * the floor measured in the same run: one `GET /pods` + `JSON.parse` of the same body from the same kubelet
 * (bench/floor_get_parse.ts, its own process). The two are interleaved call by call.
 *
 * @module
 */

import { join } from "node:path";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { PluginHost, REPO_ROOT } from "../../src/testing/plugin_host.ts";
import { startTlsKubelet, type TlsKubelet } from "../../src/testing/tls_kubelet.ts";
import { atMost, median, type Row } from "./report.ts";
import { NODE_NAME, syntheticNode, writeProcRoot } from "./pods.ts";

/** Settings of the cold stage. */
export interface ColdSettings {
  /** Pod counts. */
  readonly pods: readonly number[];
  /** Timed pairs (floor + Attest) per pod count and transport. */
  readonly runs: number;
  /** Untimed pairs first. */
  readonly warmup: number;
  /** Transports. */
  readonly transports: readonly ("http" | "tls")[];
}

/** Raw results of one pod count and transport. */
export interface ColdRaw {
  readonly pods: number;
  readonly transport: "http" | "tls";
  readonly bodyBytes: number;
  readonly oursMs: number[];
  readonly floorMs: number[];
  readonly kubeletRequests: number;
}

/** Reads lines from a child's stdout. */
class LineReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  async next(): Promise<string> {
    while (!this.#buffer.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("the floor process ended");
      this.#buffer += value;
    }
    const nl = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, nl);
    this.#buffer = this.#buffer.slice(nl + 1);
    return line;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measureOne(
  pods: number,
  transport: "http" | "tls",
  settings: ColdSettings,
  pluginCommand: (procRoot: string) => string[],
  work: string,
): Promise<ColdRaw> {
  const root = await Deno.makeTempDir({ dir: work, prefix: `cold-${transport}-${pods}-` });
  const node = syntheticNode(pods, 1, 4242, 21 + pods);
  await writeProcRoot(root, node.workloads);
  const pid = node.workloads[0].pid;
  let tls: TlsKubelet | undefined;
  let kubelet: FakeKubelet;
  let hcl: string;
  const interval = `poll_retry_interval = "1ms"`;
  if (transport === "tls") {
    // The secure port is reached by the node name, which is this host's name by default (the certificate's).
    tls = await startTlsKubelet({ token: crypto.randomUUID(), prefix: "k8s-attestor-bench-tls-" });
    kubelet = tls.kubelet;
    hcl = tls.hcl([interval]);
  } else {
    kubelet = await startFakeKubelet();
    hcl = [`kubelet_read_only_port = ${kubelet.port}`, `node_name = "${NODE_NAME}"`, interval].join("\n") +
      "\n";
  }
  kubelet.setPodsBody(node.body);
  const floorArgs = [`${kubelet.baseUrl}/pods`, ...(tls ? [tls.pki.ca.certPath, tls.tokenPath] : [])];
  const floor = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", join(REPO_ROOT, "bench", "floor_get_parse.ts"), ...floorArgs],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const floorIn = floor.stdin.getWriter();
  const floorOut = new LineReader(floor.stdout);
  const host = await PluginHost.start({ command: pluginCommand(root) });
  try {
    await host.load({ hcl });
    const floorCall = async () => {
      await floorIn.write(new TextEncoder().encode("get\n"));
      const line = await floorOut.next();
      const ms = Number(line);
      if (!Number.isFinite(ms)) throw new Error(`floor: ${line}`);
      return ms;
    };
    const attestCall = async () => {
      await sleep(5); // older than poll_retry_interval: the next Attest fetches
      const t = performance.now();
      const selectors = await host.client.attest(pid);
      const ms = performance.now() - t;
      if (selectors.length === 0) throw new Error(`cold Attest of pid ${pid}: no selectors`);
      return ms;
    };
    for (let i = 0; i < settings.warmup; i++) {
      await floorCall();
      await attestCall();
    }
    const oursMs: number[] = [];
    const floorMs: number[] = [];
    const before = kubelet.requestCount;
    for (let i = 0; i < settings.runs; i++) {
      // Alternate the order so that a slow moment of the machine hits both alike.
      if (i % 2 === 0) {
        floorMs.push(await floorCall());
        oursMs.push(await attestCall());
      } else {
        oursMs.push(await attestCall());
        floorMs.push(await floorCall());
      }
    }
    const kubeletRequests = kubelet.requestCount - before;
    await host.unload();
    return { pods, transport, bodyBytes: node.body.length, oursMs, floorMs, kubeletRequests };
  } finally {
    await host.dispose();
    await floorIn.close().catch(() => {});
    await floor.status;
    await (tls ? tls.stop() : kubelet.stop());
  }
}

/**
 * The rows of the cold stage: one per pod count and transport, then one per transport for linearity (growth
 * of our time from the smallest to the largest pod count against the floor's growth).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coldRows } from "./cold.ts";
 * const raw = (pods: number, ours: number, floor: number) => ({
 *   pods, transport: "http" as const, bodyBytes: pods * 2000, oursMs: [ours, ours], floorMs: [floor, floor],
 *   kubeletRequests: 4, // two floor GETs and two Attests, each its own request
 * });
 * const rows = coldRows([raw(100, 2.4, 2), raw(1000, 30, 20)]);
 * assert.equal(rows[0].verdict, "pass"); // 1.2×
 * assert.equal(rows[1].verdict, "FAIL"); // 1.5×
 * assert.equal(rows[2].id, "cold-linear-http");
 * assert.ok(Math.abs(rows[2].ours! - 27.6 / 0.9) < 1e-9); // ms per 1000 more pods
 * assert.ok(Math.abs(rows[2].ratio! - 27.6 / 18) < 1e-9); // against the floor's (20 - 2) / 0.9
 * assert.equal(rows[2].verdict, "FAIL");
 * ```
 *
 * @param raws The raw results.
 * @returns The rows.
 */
export function coldRows(raws: readonly ColdRaw[]): Row[] {
  const rows: Row[] = raws.map((r) => {
    const ratio = median(r.oursMs.map((ms, i) => ms / r.floorMs[i]));
    const fetched = r.kubeletRequests === r.oursMs.length + r.floorMs.length;
    return {
      id: `cold-${r.transport}-${r.pods}`,
      what: `cold Attest, ${r.pods} pods (${(r.bodyBytes / 1048576).toFixed(2)} MiB), ${
        r.transport === "tls" ? "TLS + token" : "plain HTTP"
      }`,
      ours: median(r.oursMs),
      floor: median(r.floorMs),
      unit: "ms",
      ratio,
      target: "≤ 1.3× (GET + JSON.parse)",
      verdict: fetched ? atMost(ratio, 1.3) : "FAIL",
      detail:
        `${r.oursMs.length} interleaved pairs, median of per-pair ratios; floor: fetch on a kept-alive ` +
        `connection, default V8 flags` +
        (fetched ? "" : `; NOT cold: ${r.kubeletRequests} kubelet requests for ${r.oursMs.length * 2} calls`),
    };
  });
  for (const transport of ["http", "tls"] as const) {
    const t = raws.filter((r) => r.transport === transport).sort((a, b) => a.pods - b.pods);
    if (t.length < 2) continue;
    const [small, large] = [t[0], t[t.length - 1]];
    // The cost of each further 1000 pods (slope between the smallest and largest count), ours and the floor's:
    // a fixed overhead does not hide a per-pod cost that grows faster than parsing the body.
    const thousands = (large.pods - small.pods) / 1000;
    const oursSlope = (median(large.oursMs) - median(small.oursMs)) / thousands;
    const floorSlope = (median(large.floorMs) - median(small.floorMs)) / thousands;
    const ratio = floorSlope > 0 ? oursSlope / floorSlope : null;
    rows.push({
      id: `cold-linear-${transport}`,
      what: `cold Attest, cost per 1000 more pods (${small.pods} → ${large.pods}), ${
        transport === "tls" ? "TLS" : "plain HTTP"
      }`,
      ours: oursSlope,
      floor: floorSlope,
      unit: "ms",
      ratio,
      target: "linear: ≤ 1.3× the floor's per-pod cost",
      verdict: atMost(ratio, 1.3),
      detail: "slope of the medians between the smallest and the largest pod count",
    });
  }
  return rows;
}

/**
 * Runs the cold stage.
 *
 * @param settings Pod counts, transports and run counts.
 * @param pluginCommand The plugin command for a proc root.
 * @param work A scratch directory of this run.
 * @returns The rows and the raw results.
 */
export async function runColdStage(
  settings: ColdSettings,
  pluginCommand: (procRoot: string) => string[],
  work: string,
): Promise<{ rows: Row[]; raw: ColdRaw[] }> {
  const raw: ColdRaw[] = [];
  for (const transport of settings.transports) {
    for (const pods of settings.pods) {
      raw.push(await measureOne(pods, transport, settings, pluginCommand, work));
    }
  }
  return { rows: coldRows(raw), raw };
}
