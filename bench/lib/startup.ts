/**
 * Start-up time of the real plugin program: exec → handshake line, for the source entry (`deno run` of
 * mod.ts) and for the bundle (`deno bundle` of mod.ts, run with the runtime flags of the Linux release
 * binary), against a floor measured in the same run: exec → exit of `deno run` of an empty script. Runs are
 * interleaved (floor, source, bundle) so that machine noise hits all three alike; one unmeasured round first.
 *
 * @module
 */

import { join } from "node:path";
import { startPluginProcess } from "../../src/testing/plugin_process.ts";
import { releaseRuntimeFlags } from "../../src/testing/release_flags.ts";
import { atMost, median, type Row } from "./report.ts";

/** Raw start-up times, in milliseconds, one per run. */
export interface StartupRaw {
  readonly floorMs: number[];
  readonly sourceMs: number[];
  readonly bundleMs: number[];
}

/**
 * Builds the bundle of the checkout at `root` into `out` (`deno bundle --platform=deno`, as `deno task
 * bundle` does).
 *
 * @param root The checkout.
 * @param out The output file.
 * @throws {Error} When `deno bundle` fails.
 */
export async function buildBundle(root: string, out: string): Promise<void> {
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform=deno", "-o", out, "mod.ts"],
    cwd: root,
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!built.success) throw new Error("deno bundle failed");
}

/** The source entry's command (as the tests start it). */
export function sourceCommand(root: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--no-prompt",
    "--config",
    join(root, "deno.json"),
    join(root, "mod.ts"),
  ];
}

/** The bundle's command, with the runtime flags of the Linux release binary (read from deno.json). */
export function bundleCommand(bundle: string): string[] {
  return [Deno.execPath(), "run", ...releaseRuntimeFlags("compile:linux-x64"), bundle];
}

async function timeEmpty(empty: string): Promise<number> {
  const t = performance.now();
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", empty],
    stdout: "null",
  }).output();
  if (!status.success) throw new Error("the empty script failed");
  return performance.now() - t;
}

async function timeHandshake(command: string[], cwd: string): Promise<number> {
  const t = performance.now();
  const { child, output } = await startPluginProcess({ command, cwd });
  const ms = performance.now() - t;
  child.kill("SIGKILL");
  await child.status;
  await output.done;
  return ms;
}

/**
 * Measures start-up `runs` times.
 *
 * @param runs Interleaved runs (each: floor, source, bundle).
 * @param root The checkout whose source entry is measured.
 * @param bundle The bundle (see {@linkcode buildBundle}).
 * @param work A scratch directory (for the empty script).
 * @returns The raw times.
 */
export async function measureStartup(
  runs: number,
  root: string,
  bundle: string,
  work: string,
): Promise<StartupRaw> {
  const empty = join(work, "empty.ts");
  await Deno.writeTextFile(empty, "");
  const source = sourceCommand(root);
  const bundled = bundleCommand(bundle);
  // One unmeasured round: file-system caches and Deno's module caches warm.
  await timeEmpty(empty);
  await timeHandshake(source, root);
  await timeHandshake(bundled, root);
  const raw: StartupRaw = { floorMs: [], sourceMs: [], bundleMs: [] };
  for (let i = 0; i < runs; i++) {
    raw.floorMs.push(await timeEmpty(empty));
    raw.sourceMs.push(await timeHandshake(source, root));
    raw.bundleMs.push(await timeHandshake(bundled, root));
  }
  return raw;
}

/**
 * The rows of the start-up stage: source entry and bundle against the empty script, target ≤ 6×. The ratio is
 * the median of the per-run ratios.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startupRows } from "./startup.ts";
 * const rows = startupRows({ floorMs: [20, 30], sourceMs: [150, 210], bundleMs: [100, 150] });
 * assert.equal(rows[0].ratio, 7.25);
 * assert.equal(rows[0].verdict, "FAIL");
 * assert.equal(rows[1].verdict, "pass");
 * ```
 *
 * @param raw The raw times.
 * @returns Two rows.
 */
export function startupRows(raw: StartupRaw): Row[] {
  const row = (id: string, what: string, xs: number[]): Row => {
    const ratio = median(xs.map((ms, i) => ms / raw.floorMs[i]));
    return {
      id,
      what,
      ours: median(xs),
      floor: median(raw.floorMs),
      unit: "ms",
      ratio,
      target: "≤ 6× (deno run of an empty script)",
      verdict: atMost(ratio, 6),
      detail: `${xs.length} interleaved runs, median of per-run ratios`,
    };
  };
  return [
    row("startup-source", "exec → handshake line, source entry (deno run mod.ts)", raw.sourceMs),
    row("startup-bundle", "exec → handshake line, bundle (release V8 flags)", raw.bundleMs),
  ];
}
