/**
 * The in-process cost of one Attest, without gRPC: the real plugin (configuration builder, runtime, Linux
 * locator, attestor core, pod-list fetcher) against a fake kubelet serving a 250-pod list (cached after the
 * first call, as in the go-plugin stage of `bench:table`), for a workload whose `/proc/<pid>/{cgroup,stat}`
 * sit in a temporary proc root. Steps are measured apart, so a profile can be read against them:
 *
 * - `locate`: the locator alone (stat, cgroup, stat);
 * - `core`: the attestor core (locate, pod list from the cache, match, selectors, re-check);
 * - `plugin`: the plugin's Attest (runtime generation checks on top);
 * - `services`: the handler as the gRPC server calls it (`settleUnary` around `workloadAttestor.attest`),
 *   with the hclog logger the plugin program uses (debug level, writing to a discarding sink) and the
 *   call's `AbortSignal` with a deadline, as the server makes one per call;
 * - `encode`: the same plus encoding the `AttestResponse` (protobuf) with the server's encoder
 *   (`src/plugin/selector_values_codec.ts`).
 *
 * Run: `deno bench -A --no-prompt bench/attest_inproc_bench.ts`
 *
 * @module
 */

import { AttestResponse } from "../src/gen/spire/plugin/agent/workloadattestor/v1/workloadattestor.ts";
import { loadHclParser } from "../src/config/hcl_parser.ts";
import { createHclogLogger, nullLogger } from "../src/log.ts";
import { platformFor } from "../src/platform/mod.ts";
import { createAttestorPlugin } from "../src/plugin/plugin.ts";
import { createPluginServices, settleUnary } from "../src/plugin/services.ts";
import { selectorValuesEncoder } from "../src/plugin/selector_values_codec.ts";
import { createRuntime } from "../src/runtime.ts";
import { startFakeKubelet } from "../src/testing/fake_kubelet.ts";
import { NODE_NAME, syntheticNode, writeProcRoot } from "./lib/pods.ts";

const node = syntheticNode(250, 8);
const workload = node.workloads[node.workloads.length - 1];
const root = await Deno.makeTempDir({ prefix: "k8s-attestor-inproc-bench-" });
await writeProcRoot(root, node.workloads);
const kubelet = await startFakeKubelet({ pods: JSON.parse(node.body) });

let lines = 0;
const logger = createHclogLogger({ write: () => lines++ });
const platform = platformFor();
const runtime = createRuntime({ platform, logger, procRoot: root });
const plugin = createAttestorPlugin({ runtime, logger });
const services = createPluginServices({ plugin, logger });
await loadHclParser();
await plugin.configure(
  `kubelet_read_only_port = ${kubelet.port}\nnode_name = "${NODE_NAME}"\n`,
  { trustDomain: "example.org" },
);
const locator = platform.createLocator({
  useNewContainerLocator: true,
  kubeletCgroupRoot: null,
  verbose: false,
  logger: nullLogger,
  procRoot: root,
});
const EXPECTED = (await plugin.attest(workload.pid, AbortSignal.timeout(10_000))).length;
if (EXPECTED === 0) throw new Error("the workload got no selectors");

function check(n: number): void {
  if (n !== EXPECTED) throw new Error(`expected ${EXPECTED} selectors, got ${n}`);
}

/** The server's per-call signal: a deadline (the host sends one) and a cancellation listener. */
function callSignal(): { signal: AbortSignal; release: () => void } {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error("deadline")), 30_000);
  return { signal: abort.signal, release: () => clearTimeout(timer) };
}

Deno.bench({ name: "locate", group: "attest", baseline: true }, async () => {
  const location = await locator.locate(workload.pid, undefined);
  if (location.containerId !== workload.containerId) throw new Error("wrong container");
});
Deno.bench({ name: "plugin.attest", group: "attest" }, async () => {
  const { signal, release } = callSignal();
  check((await plugin.attest(workload.pid, signal)).length);
  release();
});
Deno.bench({ name: "services (settleUnary, hclog at debug)", group: "attest" }, async () => {
  const { signal, release } = callSignal();
  const outcome = await settleUnary(
    "WorkloadAttestor/Attest",
    logger,
    () => services.workloadAttestor.attest({ pid: workload.pid }, signal),
  );
  release();
  check(outcome.response?.selectorValues.length ?? 0);
});
const encodeResponse = selectorValuesEncoder(AttestResponse.encode);
Deno.bench({ name: "services + encode", group: "attest" }, async () => {
  const { signal, release } = callSignal();
  const outcome = await settleUnary(
    "WorkloadAttestor/Attest",
    logger,
    () => services.workloadAttestor.attest({ pid: workload.pid }, signal),
  );
  release();
  const bytes = encodeResponse(outcome.response!);
  if (bytes.length < 100) throw new Error("short response");
});

globalThis.addEventListener("unload", () => {
  if (lines > 1000) console.error(`note: ${lines} log lines were written during the bench`);
  Deno.removeSync(root, { recursive: true });
});
// The fake kubelet keeps a listener open; bench cases do not await teardown, so unref what we can.
void kubelet;
