/**
 * Start-up time of the real plugin program: exec → handshake line, for the source entry (`deno run` of
 * mod.ts, the way the tests start it) and for the bundle (`deno bundle` of mod.ts, then `deno run` of it with
 * the runtime flags of the Linux release binary), as ratios to a floor measured in the same run: exec → exit
 * of `deno run` of an empty script. Runs are interleaved (floor, source, bundle) so that machine noise hits
 * all three alike; medians are reported.
 *
 * Run: `deno task bench:startup` (optionally `RUNS=25`; `ROOT=/path/to/checkout` measures another copy of
 * the repository, e.g. an older commit, with this script).
 */
import { join } from "node:path";
import { REPO_ROOT, startPluginProcess } from "../src/testing/plugin_process.ts";
import { releaseRuntimeFlags } from "../src/testing/release_flags.ts";

const RUNS = Number(Deno.env.get("RUNS") ?? 15);
const ROOT = Deno.env.get("ROOT") ?? REPO_ROOT;
const deno = Deno.execPath();

const work = await Deno.makeTempDir({ prefix: "k8s-attestor-startup-" });
const empty = join(work, "empty.ts");
await Deno.writeTextFile(empty, "");
const bundle = join(work, "k8s-attestor.js");
const built = await new Deno.Command(deno, {
  args: ["bundle", "--platform=deno", "-o", bundle, "mod.ts"],
  cwd: ROOT,
  stdout: "null",
  stderr: "inherit",
}).output();
if (!built.success) throw new Error("deno bundle failed");

const sourceCommand = [
  deno,
  "run",
  "-A",
  "--no-prompt",
  "--config",
  join(ROOT, "deno.json"),
  join(ROOT, "mod.ts"),
];
const bundleCommand = [deno, "run", ...releaseRuntimeFlags("compile:linux-x64"), bundle];

async function timeEmpty(): Promise<number> {
  const t = performance.now();
  const status = await new Deno.Command(deno, { args: ["run", "--no-prompt", empty], stdout: "null" })
    .output();
  if (!status.success) throw new Error("the empty script failed");
  return performance.now() - t;
}

async function timeHandshake(command: string[]): Promise<number> {
  const t = performance.now();
  const { child, output } = await startPluginProcess({ command, cwd: ROOT });
  const ms = performance.now() - t;
  child.kill("SIGKILL");
  await child.status;
  await output.done;
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// One unmeasured round: file-system caches and Deno's module caches warm.
await timeEmpty();
await timeHandshake(sourceCommand);
await timeHandshake(bundleCommand);

const floor: number[] = [];
const source: number[] = [];
const bundled: number[] = [];
for (let i = 0; i < RUNS; i++) {
  floor.push(await timeEmpty());
  source.push(await timeHandshake(sourceCommand));
  bundled.push(await timeHandshake(bundleCommand));
}
await Deno.remove(work, { recursive: true });

const f = median(floor);
const rows = [
  ["floor: deno run of an empty script", f],
  ["source: deno run mod.ts → handshake", median(source)],
  ["bundle: deno run bundle → handshake", median(bundled)],
] as const;
console.log(`exec → handshake, medians of ${RUNS} runs (${ROOT})`);
for (const [label, ms] of rows) {
  console.log(`${label.padEnd(38)} ${ms.toFixed(1).padStart(7)} ms  ${(ms / f).toFixed(2)}×`);
}
