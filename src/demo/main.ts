/**
 * The end-to-end demo (`deno task demo`): a real process, placed in a real kubepods cgroup when the machine
 * allows it, is attested by the plugin loaded the way spire-agent loads it (go-plugin handshake, broker,
 * Init, Configure, Attest, Deinit, Shutdown), against a built-in fake kubelet over verified TLS with a
 * bearer token. No cluster and no configuration needed.
 *
 * @module
 */

import { hostname } from "node:os";
import { join } from "node:path";
import { PluginHost } from "../testing/plugin_host.ts";
import { createTestPki } from "../testing/certs.ts";
import { detectCgroupSupport, type KubepodsCgroup, kubepodsPath, placeInCgroup } from "../testing/cgroups.ts";
import { startFakeKubelet } from "../testing/fake_kubelet.ts";
import { procStatLine } from "../testing/fake_proc.ts";
import { demoPodList, randomContainerId } from "./pods.ts";

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /** Receives the human-readable report, line by line. @default {console.log} */
  readonly print?: (line: string) => void;
  /** Never use real cgroups, even where possible (tests of the fallback). @default {false} */
  readonly forceProcRoot?: boolean;
  /** The plugin command (e.g. a bundle under deno). @default {the source entry point} */
  readonly command?: readonly string[];
}

/** What the demo observed. */
export interface DemoResult {
  /** Selectors of the workload process. */
  readonly selectors: string[];
  /** Selectors of the demo's own (host) process: none expected. */
  readonly hostSelectors: string[];
  /** Whether a real cgroup was used (otherwise a generated proc root). */
  readonly realCgroup: boolean;
  /** The workload's pod UID and container ID. */
  readonly podUid: string;
  /** The workload's container ID. */
  readonly containerId: string;
  /** The plugin's exit code after Shutdown. */
  readonly exitCode: number;
  /** stderr lines of the plugin that spire-agent would demote or choke on (expected empty). */
  readonly logProblems: string[];
}

async function writeFakeProc(root: string, pid: number, cgroupPath: string): Promise<void> {
  const dir = join(root, "proc", String(pid));
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "cgroup"), `0::${cgroupPath}\n`);
  // The plugin re-checks the start time before it answers with a pod's selectors.
  await Deno.writeTextFile(join(dir, "stat"), procStatLine(pid, "sleep", 4242));
  await Deno.writeTextFile(
    join(dir, "mountinfo"),
    "24 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n",
  );
}

/**
 * Runs the demo and returns what it saw. Cleans up everything it created (process, cgroups, files,
 * servers), also on failure.
 *
 * @param options Output and plugin command.
 * @returns The selectors and the facts a test can check.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const work = await Deno.makeTempDir({ prefix: "k8s-attestor-demo-" });
    cleanups.push(() => Deno.remove(work, { recursive: true }));

    const podUid = crypto.randomUUID();
    const containerId = randomContainerId();
    const nodeName = hostname();

    const child = new Deno.Command("sleep", { args: ["600"], stdin: "null", stdout: "null", stderr: "null" })
      .spawn();
    cleanups.push(async () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
    });
    print(`workload   pid ${child.pid} (sleep 600)`);

    let procRoot = "/";
    let realCgroup = false;
    const support = options.forceProcRoot
      ? "real cgroups disabled by the caller"
      : await detectCgroupSupport();
    if (typeof support !== "string") {
      const hierarchy = support[0];
      const driver = hierarchy.version === 2 ? "systemd" : "cgroupfs";
      const path = kubepodsPath(driver, "burstable", podUid, containerId);
      const cgroup: KubepodsCgroup = await placeInCgroup(hierarchy, path, child.pid);
      cleanups.push(() => cgroup.remove());
      realCgroup = true;
      print(
        `           moved into a real cgroup (v${hierarchy.version}, ${driver} naming) at ${hierarchy.mountPoint}`,
      );
      print(`           ${path}`);
    } else {
      procRoot = join(work, "root");
      const path = kubepodsPath("systemd", "burstable", podUid, containerId);
      await writeFakeProc(procRoot, child.pid, path);
      print(`           NOTE: real cgroups unavailable (${support});`);
      print(`           using a generated proc root ${procRoot} with 0::${path}`);
    }

    const pki = await createTestPki();
    cleanups.push(() => pki.cleanup());
    const serverCert = await pki.issueServerCert("kubelet", { dns: [nodeName], ip: ["127.0.0.1"] });
    const tokenPath = join(work, "token");
    await Deno.writeTextFile(tokenPath, `demo-${crypto.randomUUID()}\n`);
    const kubelet = await startFakeKubelet({
      tls: { cert: serverCert.cert, key: serverCert.key },
      auth: { kind: "token", tokenPath },
      pods: demoPodList({ podUid, containerId, nodeName }),
    });
    cleanups.push(() => kubelet.stop());
    print(
      `kubelet    fake kubelet at ${kubelet.baseUrl}/pods (TLS from a generated CA, bearer token, 3 pods)`,
    );

    const hcl = [
      `kubelet_secure_port = ${kubelet.port}`,
      `kubelet_ca_path = "${pki.ca.certPath}"`,
      `token_path = "${tokenPath}"`,
      `poll_retry_interval = "100ms"`,
      `max_poll_attempts = 20`,
    ].join("\n") + "\n";
    const host = await PluginHost.start({
      command: options.command,
      args: procRoot === "/" ? [] : ["--proc-root", procRoot],
      env: { MY_NODE_NAME: undefined },
    });
    cleanups.push(() => host.dispose());
    print(`plugin     started; handshake ${host.handshake.line}`);
    await host.load({ hcl, trustDomain: "example.org" });
    print("           broker and stdio streams open; Init and Configure accepted:");
    for (const line of hcl.trimEnd().split("\n")) print(`             ${line}`);

    const started = performance.now();
    const selectors = await host.client.attest(child.pid, { timeoutMs: 30_000 });
    const elapsed = performance.now() - started;
    print(
      `attest     Attest(pid ${child.pid}) -> ${selectors.length} selectors in ${elapsed.toFixed(1)} ms:`,
    );
    for (const s of selectors) print(`             k8s:${s}`);

    const hostSelectors = await host.client.attest(Deno.pid, { timeoutMs: 30_000 });
    print(
      `           Attest(pid ${Deno.pid}, the demo itself, not in a pod) -> ${hostSelectors.length} selectors`,
    );

    const exit = await host.unload();
    const logProblems = host.logProblems();
    print(
      `unload     Deinit + Shutdown -> plugin exited with code ${exit.code}; ` +
        `${host.stderrLines.length} stderr log lines, ${logProblems.length} that spire-agent would reject`,
    );
    return { selectors, hostSelectors, realCgroup, podUid, containerId, exitCode: exit.code, logProblems };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort: keep cleaning up the rest
      }
    }
  }
}

if (import.meta.main) {
  if (Deno.build.os !== "linux") {
    console.error(`the demo places a process in a Linux cgroup; this is ${Deno.build.os}`);
    Deno.exit(1);
  }
  try {
    const result = await runDemo();
    Deno.exit(result.selectors.length > 0 && result.exitCode === 0 ? 0 : 1);
  } catch (err) {
    console.error(`demo failed: ${err instanceof Error ? err.stack ?? err.message : err}`);
    Deno.exit(1);
  }
}
