/**
 * The HCL parser (js-hcl-parser, a large GopherJS program) is loaded on first use, not when the plugin's
 * modules load: each case runs in a fresh Deno process, as this test process has loaded it long ago.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../../src/testing/plugin_process.ts";

/** Runs `body` as a module in a fresh process (with the repository's import map); returns its stdout lines. */
async function runFresh(body: string): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "k8s-attestor-hcl-lazy-" });
  try {
    const script = join(dir, "probe.ts");
    const root = (path: string) => JSON.stringify(pathToFileURL(join(REPO_ROOT, path)).href);
    await Deno.writeTextFile(
      script,
      `import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const hclLoaded = () => Object.keys(require.cache).some((k) => k.includes("js-hcl-parser"));
await import(${root("mod.ts")});
const { buildConfig } = await import(${root("src/config/build.ts")});
const { loadHclParser, runHcl } = await import(${root("src/config/hcl_parser.ts")});
${body}`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", "--config", join(REPO_ROOT, "deno.json"), script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    return new TextDecoder().decode(out.stdout).trim().split("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

describe("HCL parser loading", () => {
  it("is not loaded with the plugin's modules; loadHclParser loads it once, and runHcl then uses it", async () => {
    const lines = await runFresh(`
console.log(hclLoaded());
await Promise.all([loadHclParser(), loadHclParser()]);
console.log(hclLoaded(), JSON.stringify(runHcl("k = 1")));
await loadHclParser();
console.log(buildConfig("kubelet_read_only_port = 10255", { trustDomain: "example.org" }).problems.length);
`);
    assert.deepEqual(lines, [
      "false",
      `true ${JSON.stringify({ ok: true, json: '{\n    "k": 1\n}' })}`,
      "0",
    ]);
  });

  it("is loaded by the first parse when loadHclParser was not awaited (direct callers of buildConfig)", async () => {
    const lines = await runFresh(`
console.log(hclLoaded());
const r = buildConfig("kubelet_read_only_port = 10255\\nno_such_key = 1", { trustDomain: "example.org" });
console.log(hclLoaded(), JSON.stringify(r.problems));
await loadHclParser();
console.log(JSON.stringify(runHcl("k = [")));
`);
    assert.equal(lines[0], "false");
    assert.match(lines[1], /^true \["[^"]*no_such_key[^"]*"\]$/);
    assert.match(lines[2], /^\{"ok":false,"error":"At 1:\d+: [^"]+"\}$/);
  });
});
