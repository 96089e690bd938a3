/**
 * `deno task bench:table`: measures every performance target of issue 12 together with its floor in the same
 * run, prints one table (what, ours, floor, ratio, target, verdict, detail) and writes the same as JSON to
 * `bench/results/<timestamp>.json`. Stages (each in bench/lib/):
 *
 * - `gohost`: Attest p50 through the real go-plugin client and grpc-go (tools/gohost `bench`) against a
 *   fixed-answer Go plugin (tools/gofloor) at concurrency 1 and 16; Attest against Health/Check on our own
 *   server; idle RSS; RSS over N Attests at a fixed rate against a 250-pod node.
 * - `cold`: cold Attest against one GET + `JSON.parse` of the same body, 100/1000/5000 pods, HTTP and TLS.
 * - `startup`: exec → handshake line against `deno run` of an empty script, source entry and bundle.
 * - `memory`: RSS after one ~10 MB pod list, back within 20 MiB of the level before.
 *
 * The plugin runs as the bundle (`deno bundle`) under the runtime flags of the Linux release binary, read
 * from deno.json's `compile:linux-x64` task (`--subject source` runs mod.ts under the same flags). Medians of
 * repeated runs; ratios are medians of per-round ratios. Nothing is asserted: targets that are missed show
 * as FAIL and the exit code is still 0 (non-zero only when the harness itself fails).
 *
 * Run: `deno task bench:table` (full, several minutes) or `deno task bench:table --quick` (< 3 minutes);
 * `--help` lists the options.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../src/testing/plugin_process.ts";
import { releaseRuntimeFlags } from "../src/testing/release_flags.ts";
import { type ColdSettings, runColdStage } from "./lib/cold.ts";
import { goHostBuilt, type GoHostSettings, runGoHostStage } from "./lib/gohost.ts";
import { type MemorySettings, runMemoryStage } from "./lib/memory.ts";
import { type BenchDocument, formatTable, resultFileName, type Row } from "./lib/report.ts";
import { buildBundle, measureStartup, startupRows } from "./lib/startup.ts";

const STAGES = ["gohost", "cold", "startup", "memory"] as const;
type Stage = typeof STAGES[number];

const HELP = `usage: deno task bench:table [options]
  --quick               small run counts (< 3 minutes); default: the full run
  --stages LIST         comma-separated subset of ${STAGES.join(",")} (default: all)
  --subject S           bundle (default) or source: what the plugin runs as
  --out DIR             where the JSON goes (default: bench/results); --no-write: nowhere
  --rounds N            go-plugin rounds            --calls N        calls per round
  --rate N              calls/s of the RSS load     --rate-calls N   calls of the RSS load (0: skip)
  --cold-runs N         cold Attest pairs per size  --cold-pods LIST pod counts (default 100,1000,5000)
  --transports LIST     http,tls (default both)     --startup-runs N start-up runs
  --window S            seconds to wait for RSS to come back after the large list
  --large-mb N          size of the large list in MB (default 10)
  --warmup N            untimed go-plugin calls     --settle S       seconds before the idle RSS
  --warm S              seconds of steady load before the large list`;

const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    stages: { type: "string" },
    subject: { type: "string", default: "bundle" },
    out: { type: "string" },
    "no-write": { type: "boolean", default: false },
    rounds: { type: "string" },
    calls: { type: "string" },
    rate: { type: "string" },
    "rate-calls": { type: "string" },
    "cold-runs": { type: "string" },
    "cold-pods": { type: "string" },
    transports: { type: "string" },
    "startup-runs": { type: "string" },
    window: { type: "string" },
    "large-mb": { type: "string" },
    warmup: { type: "string" },
    settle: { type: "string" },
    warm: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (opts.help) {
  console.log(HELP);
  Deno.exit(0);
}

function int(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${name} must be an integer ≥ ${min}, not ${value}`);
  }
  return n;
}

const quick = opts.quick;
const stages = (opts.stages ?? STAGES.join(",")).split(",").map((s) => s.trim()) as Stage[];
for (const s of stages) if (!STAGES.includes(s)) throw new RangeError(`unknown stage ${s}`);
if (opts.subject !== "bundle" && opts.subject !== "source") {
  throw new RangeError("--subject: bundle or source");
}
/** Any count, size or stage chosen by hand makes the run "custom" (not comparable with quick or full runs). */
const customised = Object.entries(opts).some(([k, v]) =>
  v !== undefined && !["quick", "subject", "out", "no-write", "help"].includes(k)
);

const gohost: GoHostSettings = {
  pods: 250,
  workloads: 8,
  rounds: int("rounds", opts.rounds, quick ? 3 : 7),
  calls: int("calls", opts.calls, quick ? 500 : 2000),
  concurrency: [1, 16],
  warmup: int("warmup", opts.warmup, quick ? 200 : 500, 0),
  rate: int("rate", opts.rate, 1000),
  rateCalls: int("rate-calls", opts["rate-calls"], quick ? 5000 : 100_000, 0),
  settleS: int("settle", opts.settle, quick ? 2 : 3, 0),
};
const cold: ColdSettings = {
  pods: (opts["cold-pods"] ?? "100,1000,5000").split(",").map((p) => int("cold-pods", p, 0)),
  runs: int("cold-runs", opts["cold-runs"], quick ? 5 : 15),
  warmup: quick ? 1 : 3,
  transports: (opts.transports ?? "http,tls").split(",").map((t) => {
    if (t !== "http" && t !== "tls") throw new RangeError(`unknown transport ${t}`);
    return t;
  }),
};
const startupRuns = int("startup-runs", opts["startup-runs"], quick ? 5 : 15);
const memory: MemorySettings = {
  pods: 250,
  largeBytes: int("large-mb", opts["large-mb"], 10) * 1_000_000,
  warmS: int("warm", opts.warm, quick ? 3 : 10, 0),
  windowS: int("window", opts.window, quick ? 30 : 60),
};

async function git(...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd: REPO_ROOT, stdout: "piped", stderr: "null" })
    .output()
    .catch(() => null);
  return out?.success ? new TextDecoder().decode(out.stdout).trim() : "";
}

const startedAt = new Date();
const t0 = performance.now();
const releaseFlags = releaseRuntimeFlags("compile:linux-x64");
const environment: Record<string, unknown> = {
  note: "shared machine: other jobs ran at the same time; compare ratios measured in the same run",
  cpus: navigator.hardwareConcurrency,
  loadavgStart: Deno.loadavg(),
  os: `${Deno.build.os} ${Deno.osRelease()}`,
  deno: Deno.version.deno,
  v8: Deno.version.v8,
  commit: await git("rev-parse", "HEAD"),
  dirty: (await git("status", "--porcelain", "--untracked-files=no")) !== "",
  subject: opts.subject,
  releaseFlags,
  goHost: "tools/gohost bench + tools/gofloor (Debian go-plugin 1.0.1, grpc-go 1.33, Go 1.19)",
};

const work = await Deno.makeTempDir({ prefix: "k8s-attestor-bench-table-" });
const rows: Row[] = [];
const raw: Record<string, unknown> = {};
const log = (s: string) => console.error(`bench:table: ${s}`);
try {
  const bundle = join(work, "k8s-attestor.js");
  log("deno bundle");
  await buildBundle(REPO_ROOT, bundle);
  const pluginCommand = (procRoot: string): string[] =>
    opts.subject === "bundle" ? [Deno.execPath(), "run", ...releaseFlags, bundle, "--proc-root", procRoot] : [
      Deno.execPath(),
      "run",
      ...releaseFlags,
      "--config",
      join(REPO_ROOT, "deno.json"),
      join(REPO_ROOT, "mod.ts"),
      "--proc-root",
      procRoot,
    ];

  if (stages.includes("gohost")) {
    if (!await goHostBuilt()) {
      log("building the Go host and floor plugin (scripts/gohost_setup.sh)");
      const built = await new Deno.Command("bash", { args: ["scripts/gohost_setup.sh"], cwd: REPO_ROOT })
        .output();
      if (!built.success || !await goHostBuilt()) throw new Error("scripts/gohost_setup.sh failed");
    }
    log(
      `gohost: ${gohost.rounds} rounds × ${gohost.calls} calls, then ${gohost.rateCalls} at ${gohost.rate}/s`,
    );
    const r = await runGoHostStage(gohost, pluginCommand, work);
    rows.push(...r.rows);
    raw.gohost = r.raw;
  }
  if (stages.includes("cold")) {
    log(`cold: ${cold.pods.join("/")} pods over ${cold.transports.join("+")}, ${cold.runs} pairs each`);
    const r = await runColdStage(cold, pluginCommand, work);
    rows.push(...r.rows);
    raw.cold = r.raw;
  }
  if (stages.includes("startup")) {
    log(`startup: ${startupRuns} runs`);
    const r = await measureStartup(startupRuns, REPO_ROOT, bundle, work);
    rows.push(...startupRows(r));
    raw.startup = r;
  }
  if (stages.includes("memory")) {
    log(`memory: ${memory.largeBytes / 1e6} MB list, up to ${memory.windowS} s to come back`);
    const r = await runMemoryStage(memory, pluginCommand, work);
    rows.push(...r.rows);
    raw.memory = r.raw;
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
environment.loadavgEnd = Deno.loadavg();

const doc: BenchDocument = {
  schema: 1,
  startedAt: startedAt.toISOString(),
  durationS: Math.round((performance.now() - t0) / 100) / 10,
  mode: customised ? "custom" : quick ? "quick" : "full",
  environment,
  settings: { stages, gohost, cold, startupRuns, memory },
  rows,
  raw,
};

console.log(
  `k8s-attestor bench:table, ${doc.mode} run of ${doc.startedAt} (${doc.durationS} s), commit ` +
    `${String(environment.commit).slice(0, 12)}${
      environment.dirty ? " (dirty)" : ""
    }, ${environment.cpus} cores, ` +
    `load ${(environment.loadavgStart as number[])[0].toFixed(1)} → ${
      (environment.loadavgEnd as number[])[0].toFixed(1)
    }` +
    ` (shared machine), plugin: ${opts.subject} with ${
      releaseFlags.filter((f) => f.startsWith("--v8")).join(" ") || "no V8 flags"
    }\n`,
);
console.log(formatTable(rows));
const targets = rows.filter((r) => r.verdict !== "info").length;
const failed = rows.filter((r) => r.verdict === "FAIL").length;
console.log(`\n${targets - failed} of ${targets} targets met.`);
if (!opts["no-write"]) {
  const dir = opts.out ?? join(REPO_ROOT, "bench", "results");
  await Deno.mkdir(dir, { recursive: true });
  const file = join(dir, resultFileName(startedAt));
  await Deno.writeTextFile(file, JSON.stringify(doc, null, 2) + "\n");
  console.log(`written: ${file}`);
}
