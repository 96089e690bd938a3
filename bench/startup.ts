/**
 * Start-up time of the real plugin program (exec → handshake line) for the source entry and the bundle,
 * against `deno run` of an empty script measured in the same run; see bench/lib/startup.ts. The same
 * measurement is one stage of `deno task bench:table`.
 *
 * Run: `deno task bench:startup` (optionally `RUNS=25`; `ROOT=/path/to/checkout` measures another copy of
 * the repository, e.g. an older commit, with this script).
 */
import { join } from "node:path";
import { REPO_ROOT } from "../src/testing/plugin_process.ts";
import { buildBundle, measureStartup, startupRows } from "./lib/startup.ts";
import { formatTable } from "./lib/report.ts";

const RUNS = Number(Deno.env.get("RUNS") ?? 15);
const ROOT = Deno.env.get("ROOT") ?? REPO_ROOT;

const work = await Deno.makeTempDir({ prefix: "k8s-attestor-startup-" });
try {
  const bundle = join(work, "k8s-attestor.js");
  await buildBundle(ROOT, bundle);
  const raw = await measureStartup(RUNS, ROOT, bundle, work);
  console.log(`exec → handshake, medians of ${RUNS} runs (${ROOT})`);
  console.log(formatTable(startupRows(raw)));
} finally {
  await Deno.remove(work, { recursive: true });
}
