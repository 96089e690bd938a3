/**
 * The release smoke test (`deno task smoke`, `deno task smoke:bundle`): loads a built plugin the way
 * spire-agent loads it (go-plugin handshake, broker, Init, Configure), attests, and unloads it (Deinit,
 * Shutdown, exit 0), checking every log line as spire-agent would. The release workflow runs it against each
 * compiled binary on its own runner; `deno task smoke:bundle` runs it here against the bundle under the
 * compile task's permission flags, so the workflow's path runs on every CI run.
 *
 * Two modes:
 * - `container` (the default on Linux): {@linkcode runDemo}: a real `sleep` process in a kubepods cgroup
 *   (or a generated proc root where cgroups cannot be created), a fake kubelet over verified TLS with a
 *   bearer token; the workload must get its exact pod and container selectors.
 * - `host` (the default on Windows, where a runner has no container jobs): a fake kubelet on the read-only
 *   port; the smoke test's own process, which is in no container, must get no selectors and no error.
 *
 * Usage: `deno run -A src/smoke/main.ts [--mode container|host] (--binary <file> | --bundle <file>)`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { runDemo } from "../demo/main.ts";
import { demoPodList, randomContainerId } from "../demo/pods.ts";
import { startFakeKubelet } from "../testing/fake_kubelet.ts";
import { PluginHost } from "../testing/plugin_host.ts";
import { type CompileTask, releaseRuntimeFlags } from "../testing/release_flags.ts";

/** How the smoke test attests: see the module documentation. */
export type SmokeMode = "container" | "host";

/** Options of {@linkcode runSmoke}. */
export interface SmokeOptions {
  /** `[program, ...args]` that starts the plugin (spire-agent's `plugin_cmd` and `plugin_args`). */
  readonly command: readonly string[];
  /** @default {"container" on Linux, "host" elsewhere} */
  readonly mode?: SmokeMode;
  /** Receives the report, line by line. @default {console.log} */
  readonly print?: (line: string) => void;
}

/** What {@linkcode runSmoke} found. */
export interface SmokeReport {
  /** The mode that ran. */
  readonly mode: SmokeMode;
  /** The selectors of the attested process. */
  readonly selectors: readonly string[];
  /** Every check that failed, one sentence each; empty when the plugin passed. */
  readonly problems: readonly string[];
}

/** The selectors a container-mode workload must get, beyond its pod UID (`src/demo/pods.ts`). */
const CONTAINER_SELECTORS = ["container-name:app", "sa:web", "ns:demo"] as const;
/** How many selectors the demo workload gets (its pod, container and image selectors). */
const CONTAINER_SELECTOR_COUNT = 21;

/**
 * Runs the smoke test against one plugin command.
 *
 * @example A plugin that is not a plugin fails the smoke test
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { runSmoke } from "./main.ts";
 * await assert.rejects(runSmoke({ command: ["false"], mode: "host", print: () => {} }));
 * ```
 *
 * @param options The plugin command and the mode.
 * @returns The selectors and every failed check.
 * @throws {Error} When the plugin cannot be loaded at all (no handshake, Init or Configure refused).
 */
export async function runSmoke(options: SmokeOptions): Promise<SmokeReport> {
  const mode = options.mode ?? (Deno.build.os === "linux" ? "container" : "host");
  const print = options.print ?? ((line: string) => console.log(line));
  return mode === "container"
    ? await containerSmoke(options.command, print)
    : await hostSmoke(options.command, print);
}

async function containerSmoke(
  command: readonly string[],
  print: (line: string) => void,
): Promise<SmokeReport> {
  const result = await runDemo({ command, print });
  const problems = exitProblems(result.exitCode, result.logProblems);
  const expected = [`pod-uid:${result.podUid}`, ...CONTAINER_SELECTORS];
  for (const s of expected) {
    if (!result.selectors.includes(s)) problems.push(`the workload's selectors lack ${s}`);
  }
  if (result.selectors.length !== CONTAINER_SELECTOR_COUNT) {
    problems.push(
      `the workload got ${result.selectors.length} selectors, expected ${CONTAINER_SELECTOR_COUNT}`,
    );
  }
  if (result.hostSelectors.length !== 0) {
    problems.push(`a process in no pod got selectors: ${result.hostSelectors.join(", ")}`);
  }
  return { mode: "container", selectors: result.selectors, problems };
}

async function hostSmoke(command: readonly string[], print: (line: string) => void): Promise<SmokeReport> {
  const kubelet = await startFakeKubelet({
    pods: demoPodList({ podUid: crypto.randomUUID(), containerId: randomContainerId(), nodeName: "smoke" }),
  });
  let host: PluginHost | undefined;
  try {
    print(`kubelet    fake kubelet (read-only port) at ${kubelet.baseUrl}/pods`);
    host = await PluginHost.start({ command, env: { MY_NODE_NAME: undefined } });
    print(`plugin     started; handshake ${host.handshake.line}`);
    await host.load({ hcl: `kubelet_read_only_port = ${kubelet.port}\n`, trustDomain: "example.org" });
    print("           Init and Configure accepted");
    const selectors = await host.client.attest(Deno.pid, { timeoutMs: 30_000 });
    print(`attest     Attest(pid ${Deno.pid}, in no container) -> ${selectors.length} selectors`);
    const exit = await host.unload();
    print(`unload     Deinit + Shutdown -> exit code ${exit.code}${exit.killed ? " (SIGKILLed)" : ""}`);
    const problems = exitProblems(exit.killed ? -1 : exit.code, host.logProblems());
    if (selectors.length !== 0) {
      problems.push(`a process in no container got selectors: ${selectors.join(", ")}`);
    }
    return { mode: "host", selectors, problems };
  } finally {
    await host?.dispose();
    await kubelet.stop();
  }
}

function exitProblems(exitCode: number, logProblems: readonly string[]): string[] {
  const problems: string[] = [];
  if (exitCode !== 0) problems.push(`the plugin did not exit cleanly after Shutdown (code ${exitCode})`);
  for (const line of logProblems) problems.push(`a log line spire-agent would not accept: ${line}`);
  return problems;
}

/**
 * The plugin command for a bundle: the running `deno` with the permission and V8 flags of the compile task
 * for this OS, so the bundle runs as the compiled binary would.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundleCommand } from "./main.ts";
 * const command = bundleCommand("dist/k8s-attestor.js", "compile:linux-x64");
 * assert.deepEqual(command.slice(1, 4), ["run", "--no-config", "--allow-all"]);
 * assert.equal(command.at(-1), "dist/k8s-attestor.js");
 * ```
 *
 * @param bundle The bundle file.
 * @param task The compile task whose flags apply.
 * @returns `[deno, "run", "--no-config", ...flags, bundle]`.
 */
export function bundleCommand(
  bundle: string,
  task: CompileTask = Deno.build.os === "windows" ? "compile:windows-x64" : "compile:linux-x64",
): string[] {
  return [Deno.execPath(), "run", "--no-config", ...releaseRuntimeFlags(task), bundle];
}

/**
 * The command line: parses the arguments, runs the smoke test and returns the exit code.
 *
 * @param args `--mode container|host` and one of `--binary <file>` or `--bundle <file>`.
 * @param print Receives the report.
 * @returns 0 when every check passed, 1 otherwise, 2 for bad arguments.
 */
export async function smokeMain(
  args: readonly string[],
  print = (l: string) => console.log(l),
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { mode: { type: "string" }, binary: { type: "string" }, bundle: { type: "string" } },
    }));
  } catch (err) {
    print(`smoke: ${err instanceof Error ? err.message : err}`);
    return 2;
  }
  const { mode, binary, bundle } = values;
  if (mode !== undefined && mode !== "container" && mode !== "host") {
    print(`smoke: --mode must be container or host, not ${JSON.stringify(mode)}`);
    return 2;
  }
  if ((binary === undefined) === (bundle === undefined)) {
    print("smoke: give exactly one of --binary <file> and --bundle <file>");
    return 2;
  }
  const command = binary !== undefined ? [resolve(binary)] : bundleCommand(resolve(bundle!));
  try {
    const report = await runSmoke({ command, mode, print });
    for (const problem of report.problems) print(`FAILED: ${problem}`);
    print(report.problems.length === 0 ? `smoke test passed (${report.mode} mode)` : "smoke test failed");
    return report.problems.length === 0 ? 0 : 1;
  } catch (err) {
    print(`FAILED: ${err instanceof Error ? err.message : err}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await smokeMain(Deno.args));
