/**
 * Measures the real job-object lookup per call under Wine (not a test). Run from the repository root:
 *
 *   source tools/wine/env.sh && K8S_ATTESTOR_VMCOMPUTE_EXE=... deno_exe run -A --no-config tools/wine/measure_lookup.ts
 *
 * Starts the vmcompute.exe stand-in with one container job, then times N lookups of the child (found), of
 * this process (not in a container) and the handle-table size. Prints one JSON line.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { nullLogger } from "../../src/log.ts";
import { windowsPlatform } from "../../src/platform/windows/mod.ts";

const N = Number(Deno.args[0] ?? 50);
const exe = Deno.env.get("K8S_ATTESTOR_VMCOMPUTE_EXE");
if (!exe) throw new Error("set K8S_ATTESTOR_VMCOMPUTE_EXE");
const id = "ab".repeat(32);
const script = fileURLToPath(new URL("../../tests/wine/fixtures/vmcompute_helper.ts", import.meta.url));
const proc = new Deno.Command(exe, {
  args: ["run", "-A", "--no-config", "--quiet", script, id],
  stdin: "piped",
  stdout: "piped",
})
  .spawn();
const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
let text = "";
while (!text.includes("\n")) {
  const r = await reader.read();
  if (r.done) throw new Error("helper exited");
  text += r.value;
}
const { childPid } = JSON.parse(text);
const locator = windowsPlatform.createLocator({
  useNewContainerLocator: true,
  verbose: false,
  logger: nullLogger,
});

async function time(pid: number): Promise<{ medianMs: number; minMs: number; result: string | null }> {
  const samples: number[] = [];
  let result: string | null = null;
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    result = (await locator.locate(pid)).containerId;
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: +samples[N >> 1].toFixed(2), minMs: +samples[0].toFixed(2), result };
}

const found = await time(childPid);
const notFound = await time(Deno.pid);
console.log(JSON.stringify({ n: N, found, notInContainer: notFound }));
await proc.stdin.close();
while (!(await reader.read()).done) { /* drain */ }
await proc.status;
