/**
 * What the plugin program loads before its handshake line: the static module graph of mod.ts (`deno info`,
 * dynamic imports not followed). Modules that are needed only later (on Configure, for a subcommand, for
 * `--help`) are imported when first used, so they must not be reachable by static imports.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface InfoDependency {
  readonly specifier: string;
  readonly isDynamic?: boolean;
  readonly code?: { readonly specifier: string };
}
interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly InfoDependency[];
}

/** The modules reachable from `entry` through static (non-type, non-dynamic) imports, as repo paths. */
async function staticGraph(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>([info.roots[0]]);
  const queue = [info.roots[0]];
  while (queue.length > 0) {
    const mod = bySpecifier.get(queue.shift()!);
    for (const dep of mod?.dependencies ?? []) {
      const target = dep.code?.specifier;
      if (dep.isDynamic || target === undefined || seen.has(target)) continue;
      seen.add(target);
      queue.push(target);
    }
  }
  const rootUrl = new URL(`file://${ROOT}`).href;
  return new Set([...seen].map((s) => s.startsWith(rootUrl) ? s.slice(rootUrl.length) : s));
}

describe("start-up module graph", () => {
  it("mod.ts reaches neither the kubelet client, nor the subcommands, nor what Configure loads", async () => {
    const graph = await staticGraph("mod.ts");
    assert.ok(graph.has("src/cli/main.ts"), "the walk follows static imports");
    assert.ok(graph.has("src/plugin/serve.ts"), "the walk follows static imports");
    const late = [
      "src/kubelet/client.ts", // Node's HTTP and TLS stacks: on the first Configure
      "src/kubelet/fetcher.ts",
      "src/core/attest.ts",
      "src/cli/attest.ts", // subcommands and --help: when used
      "src/cli/locate.ts",
      "src/cli/help.ts",
      "src/sigstore/setup.ts", // signature verification: on a Configure with a sigstore block
      "src/broker/attest_reference.ts", // AttestReference: on the first call
    ];
    assert.deepEqual(late.filter((m) => graph.has(m)), []);
    assert.deepEqual(
      [...graph].filter((m) => m.includes("js-hcl-parser")),
      [],
      "the HCL parser is loaded late",
    );
  });
});
