/**
 * Scripted measurement of hostile configurations on the real plugin process (issue 9, finding 10): the time
 * of one Configure and one Validate call over go-plugin gRPC, and the plugin's peak resident memory
 * (`VmHWM`), for each input below, next to a normal configuration measured in the same run as the floor.
 * Every case runs in a fresh plugin process (with the runtime flags of the Linux release binary), so one
 * case's peak memory does not hide another's. Linux only (reads `/proc/<pid>/status`).
 *
 * Run: `deno task bench:config`. Nothing here is asserted; the tests check behaviour, this reports cost.
 */
import { join } from "node:path";
import { startFakeKubelet } from "../src/testing/fake_kubelet.ts";
import { PluginHost, REPO_ROOT } from "../src/testing/plugin_host.ts";
import { releaseRuntimeFlags } from "../src/testing/release_flags.ts";

const kubelet = await startFakeKubelet();
const normal = [
  `kubelet_read_only_port = ${kubelet.port}`,
  `max_poll_attempts = 30`,
  `poll_retry_interval = "250ms"`,
  `node_name = "node-1"`,
  `experimental {`,
  `  sigstore {`,
  `    rekor_url = "https://rekor.sigstore.dev"`,
  `    allowed_subjects_list { "https://accounts.google.com" = ["ci@example.org"] }`,
  `  }`,
  `}`,
].join("\n") + "\n";

const CASES: { name: string; text: () => string }[] = [
  { name: "normal configuration (floor)", text: () => normal },
  {
    name: "200 000 unknown keys (HCL)",
    text: () => Array.from({ length: 200_000 }, (_, i) => `k${i} = 1`).join("\n"),
  },
  {
    name: "200 000 unknown keys (JSON)",
    text: () => `{${Array.from({ length: 200_000 }, (_, i) => `"k${i}":1`).join(",")}}`,
  },
  {
    name: "3.9 MB node_name, read-only port",
    text: () => `${normal}node_name = "${"n".repeat(3_900_000)}"\n`,
  },
  { name: "nesting 10 000 deep", text: () => "a = " + "{ b = ".repeat(10_000) + "1" + " }".repeat(10_000) },
  // The worst cases within the limits: these reach the HCL parser (and the list and string ones are valid).
  {
    name: "1000 unknown keys (at the key limit)",
    text: () => Array.from({ length: 1000 }, (_, i) => `k${i} = 1`).join("\n"),
  },
  {
    name: "1000 list items (at the item limit)",
    text: () =>
      normal.replace(
        "    rekor_url",
        `    skip_signature_verification_image_list = [${
          Array.from({ length: 999 }, () => `"sha256:${"0".repeat(64)}"`).join(", ")
        }]\n    rekor_url`,
      ),
  },
  {
    name: "a 64 KiB string (at the size limit)",
    text: () => `${normal}token_path = "/${"t".repeat(65_533)}"\n`,
  },
];

function peakRssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function timed(call: () => Promise<unknown>): Promise<{ ms: number; outcome: string }> {
  const t = performance.now();
  let outcome = "accepted";
  try {
    const r = await call();
    if (r && typeof r === "object" && "valid" in r && !(r as { valid: boolean }).valid) outcome = "refused";
  } catch (err) {
    outcome = `refused (${(err as { code?: number }).code ?? "?"})`;
  }
  return { ms: performance.now() - t, outcome };
}

const command = [
  Deno.execPath(),
  "run",
  ...releaseRuntimeFlags("compile:linux-x64"),
  "--config",
  join(REPO_ROOT, "deno.json"),
  join(REPO_ROOT, "mod.ts"),
];

console.log(
  `${"input".padEnd(36)} ${"bytes".padStart(9)}  ${"Configure".padStart(10)}  ${
    "Validate".padStart(10)
  }  peak RSS`,
);
try {
  for (const c of CASES) {
    const text = c.text();
    const host = await PluginHost.start({ command, env: { MY_NODE_NAME: undefined } });
    try {
      await host.load({ hcl: normal });
      const configure = await timed(() => host.client.configure(text));
      const validate = await timed(() => host.client.validate(text));
      const rss = peakRssMiB(host.child.pid);
      console.log(
        `${c.name.padEnd(36)} ${String(new TextEncoder().encode(text).length).padStart(9)}  ` +
          `${configure.ms.toFixed(0).padStart(7)} ms  ${validate.ms.toFixed(0).padStart(7)} ms  ` +
          `${rss.toFixed(0).padStart(4)} MiB  (${configure.outcome}; ${validate.outcome})`,
      );
      await host.unload();
    } finally {
      await host.dispose();
    }
  }
} finally {
  await kubelet.stop();
}
