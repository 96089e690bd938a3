// Runs buildConfig in real child Deno processes with restricted permissions: proves that it reads no
// files and touches no network (denied permissions would make any attempt fail), and that a missing env
// permission neither crashes the import nor throws.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUILD_URL = new URL("../../src/config/build.ts", import.meta.url).href;

const SCRIPT = `
import { buildConfig } from ${JSON.stringify(BUILD_URL)};
const cases = JSON.parse(Deno.args[0]);
const out = cases.map((text) => {
  const r = buildConfig(text, { trustDomain: "example.org" });
  return { problems: r.problems, nodeName: r.config?.nodeName ?? null, ca: r.config?.kubeletCaPath ?? null };
});
console.log(JSON.stringify(out));
`;

async function runChild(
  flags: string[],
  cases: string[],
  env: Record<string, string> = {},
): Promise<unknown> {
  const dir = await Deno.makeTempDir({ prefix: "k8s-attestor-config-" });
  try {
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(script, SCRIPT);
    const cmd = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--config", `${ROOT}deno.json`, ...flags, script, JSON.stringify(cases)],
      cwd: ROOT,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...env },
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stdout, stderr } = await cmd.output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, `child failed: ${err}`);
    return JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

describe("buildConfig under restricted permissions (child processes)", () => {
  it("with read, write, net and run denied it still validates configs that name files", async () => {
    const out = await runChild(
      ["--allow-env", "--deny-read", "--deny-write", "--deny-net", "--deny-run"],
      [
        `kubelet_ca_path = "/etc/hostname"\ncertificate_path = "/etc/passwd"\nprivate_key_path = "/etc/shadow"`,
        `{"token_path": "/etc/hostname"}`,
      ],
      { MY_NODE_NAME: "node-7" },
    );
    assert.deepEqual(out, [
      { problems: [], nodeName: "node-7", ca: "/etc/hostname" },
      { problems: [], nodeName: "node-7", ca: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" },
    ]);
  });

  it("without env permission: imports fine, JSON and empty configs work, HCL names the missing permission", async () => {
    const out = await runChild(["--deny-read"], ["", `{"max_poll_attempts": 3}`, `max_poll_attempts = 3`], {
      MY_NODE_NAME: "node-7",
    });
    assert.deepEqual(out, [
      { problems: [], nodeName: "", ca: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" },
      { problems: [], nodeName: "", ca: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" },
      {
        problems: [
          "unable to decode configuration: the HCL parser could not be loaded " +
          "(NotCapable: Requires env access, run again with the --allow-env flag)",
        ],
        nodeName: null,
        ca: null,
      },
    ]);
  });
});
