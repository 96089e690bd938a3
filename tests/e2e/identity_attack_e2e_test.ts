/**
 * Identity safety end to end (issue 9, findings 1 and 2): an unprivileged node user (uid 65534) attacks the
 * real plugin, loaded as spire-agent loads it, with real processes in real cgroups:
 *
 * 1. in a cgroup subtree delegated to it (a directory chowned to the uid, as systemd does for
 *    `user@<uid>.service`), it recreates a victim pod's cgroup layout and moves itself there;
 * 2. at the root cgroup of every hierarchy, it bind-mounts the victim's cgroup directory inside an
 *    unprivileged user + mount namespace (`unshare -Urm`), so that its own mountinfo names the victim.
 *
 * Every attack must get an error or no selectors, while the victim's real process, in the same test, still
 * gets exactly its selectors, so a plugin that refuses everything fails too. Skipped, with the reason, where
 * cgroups cannot be created or the kernel refuses unprivileged user namespaces.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { demoPodList } from "../../src/demo/pods.ts";
import { type CgroupHierarchy, kubepodsPath } from "../../src/testing/cgroups.ts";
import type { PluginHost } from "../../src/testing/plugin_host.ts";
import { startTlsKubelet, type TlsKubelet } from "../../src/testing/tls_kubelet.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";
import { disposeAll, loadPlugin } from "./_agent.ts";
import { cgroupSupport, kill, startWorkload, type Workload } from "./_workload.ts";

const ATTACKER_UID = 65534;
const NODE = "node-attack";
const PERMISSION_DENIED = 7;

const { hierarchies, skip: noCgroups } = await cgroupSupport("identity attack tests: ");

/** Why the attacks cannot be staged here (tools missing, no unprivileged user namespaces), or `false`. */
async function attackRefusal(): Promise<string | false> {
  for (const tool of ["setpriv", "unshare", "mount"]) {
    const found = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
      .output();
    if (!found.success) return `${tool} is not installed (util-linux)`;
  }
  const probe = await new Deno.Command("setpriv", {
    args: [`--reuid=${ATTACKER_UID}`, `--regid=${ATTACKER_UID}`, "--clear-groups", "unshare", "-Urm", "true"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!probe.success) {
    return `the kernel refuses an unprivileged user namespace: ${
      new TextDecoder().decode(probe.stderr).trim()
    }`;
  }
  return false;
}

const refused = noCgroups ? false : await attackRefusal();
if (refused) console.error(`\n*** identity attack tests SKIPPED: ${refused} ***\n`);
const skip = noCgroups || refused;

/** Every mounted cgroup hierarchy (v1 controllers and the unified one), for moving a process to `/`. */
function allHierarchyMounts(): string[] {
  return Deno.readTextFileSync("/proc/self/mounts").split("\n").map((l) => l.split(" "))
    .filter((f) => f[2] === "cgroup" || f[2] === "cgroup2").map((f) => f[1]);
}

/** A process that runs `script` with `sh` as the attacker uid, started only when `go()` is called. */
interface Attacker {
  readonly pid: number;
  /** Lets the script run, and waits until it has written its `READY` marker. */
  go(): Promise<void>;
  stop(): Promise<void>;
}

async function startAttacker(work: string, name: string, script: string): Promise<Attacker> {
  const dir = join(work, name);
  await Deno.mkdir(dir);
  await Deno.chmod(dir, 0o777);
  const child = new Deno.Command("setpriv", {
    args: [
      `--reuid=${ATTACKER_UID}`,
      `--regid=${ATTACKER_UID}`,
      "--clear-groups",
      "sh",
      "-c",
      `while [ ! -e "${dir}/GO" ]; do sleep 0.02; done\n${script}\necho ready > "${dir}/READY"\nexec sleep 120`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stop = () => kill(child);
  return {
    pid: child.pid,
    async go() {
      await Deno.writeTextFile(join(dir, "GO"), "");
      for (let i = 0; i < 500; i++) {
        try {
          await Deno.stat(join(dir, "READY"));
          return;
        } catch { /* not yet */ }
        await new Promise((r) => setTimeout(r, 10));
      }
      await stop();
      const err = new TextDecoder().decode(
        (await child.output().catch(() => ({ stderr: new Uint8Array() }))).stderr,
      );
      throw new Error(`attacker ${name} did not get ready: ${err}`);
    },
    stop,
  };
}

describe("identity attacks by an unprivileged node user, through the real plugin", { skip }, () => {
  let tls: TlsKubelet;
  let work: string;
  let host: PluginHost;
  let legacyHost: PluginHost;
  const hosts: PluginHost[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  // The victim: a real process in the real kubepods cgroup of its pod.
  let victim: Workload;

  before(async () => {
    if (skip) return;
    victim = await startWorkload(hierarchies[0]);
    tls = await startTlsKubelet({
      token: "attack-token",
      pods: demoPodList({ podUid: victim.podUid, containerId: victim.containerId, nodeName: NODE }),
      prefix: "k8s-attestor-attack-",
    });
    work = tls.dir;
    await Deno.chmod(work, 0o755);
    const config = (extra: string[]) =>
      tls.hcl(["max_poll_attempts = 2", 'poll_retry_interval = "50ms"', ...extra]);
    host = await loadPlugin(config([]), hosts);
    legacyHost = await loadPlugin(config(["use_new_container_locator = false"]), hosts);
  });

  after(async () => {
    await disposeAll(hosts);
    for (const c of cleanups.reverse()) await c();
    await victim?.stop();
    await tls?.stop();
  });

  async function expectVictimSelectors(): Promise<void> {
    for (const h of [host, legacyHost]) {
      assert.deepEqual(await h.client.attest(victim.pid), expectedWebAppSelectors(victim.podUid, NODE));
    }
  }

  /**
   * Delegates a fresh cgroup directory to the attacker uid (chowned, with its `cgroup.procs`, as systemd
   * does), moves the attacker there as root, and lets it create `forged` below it and move itself in.
   */
  async function delegatedAttack(
    h: CgroupHierarchy,
    forged: string,
    under = `k8s_attestor_delegated_${Deno.pid}_${cleanups.length}`,
  ): Promise<Attacker> {
    const delegated = join(h.mountPoint, under);
    // Create the delegated directory and any missing parent, and remove what was created afterwards.
    const created: string[] = [];
    for (let dir = delegated; dir !== h.mountPoint; dir = join(dir, "..")) {
      if (await Deno.stat(dir).then(() => true, () => false)) break;
      created.unshift(dir);
    }
    for (const dir of created) await Deno.mkdir(dir);
    cleanups.push(async () => {
      for (const dir of created.slice(0, -1).reverse()) await Deno.remove(dir).catch(() => {});
    });
    for (const f of ["", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "tasks"]) {
      await Deno.chown(join(delegated, f), ATTACKER_UID, ATTACKER_UID).catch(() => {}); // v1 has no .threads
    }
    const target = join(delegated, forged);
    const attacker = await startAttacker(
      work,
      `delegated-${cleanups.length}`,
      `mkdir -p "${target}" && echo $$ > "${target}/cgroup.procs" || exit 1`,
    );
    cleanups.push(async () => {
      await attacker.stop();
      await Deno.remove(delegated, { recursive: true }).catch(async () => {
        // cgroup directories are removed one by one, deepest first.
        const out = await new Deno.Command("find", {
          args: [delegated, "-depth", "-type", "d"],
          stdout: "piped",
        })
          .output();
        for (const d of new TextDecoder().decode(out.stdout).split("\n").filter(Boolean)) {
          await Deno.remove(d).catch(() => {});
        }
      });
    });
    await Deno.writeTextFile(join(delegated, "cgroup.procs"), `${attacker.pid}\n`);
    await attacker.go();
    // Evidence that the attack itself worked: the kernel reports the forged path, created by the attacker.
    const cgroupFile = await Deno.readTextFile(`/proc/${attacker.pid}/cgroup`);
    const relative = delegated.slice(h.mountPoint.length) + "/" + forged.replace(/^\//, "");
    assert.ok(cgroupFile.includes(`:${relative}\n`), `the kernel reports ${relative}:\n${cgroupFile}`);
    assert.equal((await Deno.stat(target)).uid, ATTACKER_UID, "the forged directory belongs to the attacker");
    return attacker;
  }

  for (const h of hierarchies) {
    const label = `cgroup v${h.version} at ${h.mountPoint}`;
    const uid = () => victim.podUid;
    const uid_ = () => victim.podUid.replaceAll("-", "_");

    it(`a delegated subtree recreating the pod's systemd layout gets PermissionDenied (${label})`, async () => {
      const forged = `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid_()}.slice/` +
        `cri-containerd-${victim.containerId}.scope`;
      const attacker = await delegatedAttack(h, forged);
      for (const p of [host, legacyHost]) {
        await assert.rejects(p.client.attest(attacker.pid), (err: { code: number; details: string }) => {
          assert.equal(err.code, PERMISSION_DENIED, err.details);
          assert.match(err.details, /names pod .* but is not under the kubelet's pod cgroups/);
          return true;
        });
      }
      await expectVictimSelectors();
    });

    it(`a delegated subtree with …/evil/pod<uid>/<id> gets PermissionDenied (${label})`, async () => {
      const attacker = await delegatedAttack(h, `evil/pod${uid()}/${victim.containerId}`);
      for (const p of [host, legacyHost]) {
        await assert.rejects(p.client.attest(attacker.pid), { code: PERMISSION_DENIED });
      }
      await expectVictimSelectors();
    });

    it(`a writable cgroup of another docker container nesting the pod's layout gets PermissionDenied (${label})`, async () => {
      // Only the agent's own node container (kind on cgroup v1) may stand in front of a layout.
      const dockerId = "d".repeat(56) + String(Deno.pid).padStart(8, "0").slice(-8);
      const forged = `kubepods/besteffort/pod${uid()}/${victim.containerId}`;
      const attacker = await delegatedAttack(h, forged, `docker/${dockerId}`);
      for (const p of [host, legacyHost]) {
        await assert.rejects(p.client.attest(attacker.pid), { code: PERMISSION_DENIED });
      }
      await expectVictimSelectors();
    });

    it(`a container nesting another pod's UID below its own cgroup gets no identity (${label})`, async () => {
      // The attacker's own container (pod A, container CA) has a writable cgroup; below it, it creates
      // --/pod<victim>/<CA>: the legacy pattern would read the victim's UID, and with
      // disable_container_selectors the victim's pod selectors would follow.
      const podA = crypto.randomUUID();
      const containerA = "a".repeat(48) + String(Deno.pid).padStart(16, "0").slice(-16);
      const listA = demoPodList({ podUid: podA, containerId: containerA, nodeName: NODE });
      const listV = demoPodList({ podUid: victim.podUid, containerId: victim.containerId, nodeName: NODE });
      const itemA = (listA.items as { metadata: { uid: string } }[]).find((i) => i.metadata.uid === podA)!;
      const webA: Record<string, unknown> = { ...itemA };
      webA.metadata = { ...(webA.metadata as Record<string, unknown>), name: "attacker-pod" };
      tls.kubelet.setPods({ ...listV, items: [...listV.items, webA] });
      cleanups.push(() => Promise.resolve(tls.kubelet.setPods(listV)));
      const own = kubepodsPath(h.version === 2 ? "systemd" : "cgroupfs", "besteffort", podA, containerA);
      const attacker = await delegatedAttack(h, `--/pod${uid()}/${containerA}`, own.slice(1));
      const disabled = await loadPlugin(
        tls.hcl([
          "max_poll_attempts = 2",
          'poll_retry_interval = "50ms"',
          "disable_container_selectors = true",
        ]),
        hosts,
      );
      const disabledLegacy = await loadPlugin(
        tls.hcl([
          "max_poll_attempts = 2",
          'poll_retry_interval = "50ms"',
          "disable_container_selectors = true",
          "use_new_container_locator = false",
        ]),
        hosts,
      );
      // The new locator reads only the kubelet's positions: the attacker's own pod, never the victim's.
      const own_ = await disabled.client.attest(attacker.pid);
      assert.ok(own_.includes(`pod-uid:${podA}`) && !own_.includes(`pod-uid:${victim.podUid}`), own_.join());
      await assert.rejects(disabledLegacy.client.attest(attacker.pid), { code: 9 /* FAILED_PRECONDITION */ });
      await expectVictimSelectors();
    });

    it(`a delegated subtree with crio-<id>.scope (no pod UID) gets no selectors (${label})`, async () => {
      const attacker = await delegatedAttack(h, `crio-${victim.containerId}.scope`);
      for (const p of [host, legacyHost]) assert.deepEqual(await p.client.attest(attacker.pid), []);
      await expectVictimSelectors();
    });
  }

  it("a bind mount of the pod's cgroup in an unprivileged user namespace gets no selectors", async () => {
    const h = hierarchies[0];
    const victimDir = join(h.mountPoint, victim.cgroupPath);
    const mountPoint = join(work, "mnt-userns");
    await Deno.mkdir(mountPoint);
    await Deno.chmod(mountPoint, 0o777);
    const attacker = await startAttacker(
      work,
      "userns",
      `exec unshare -Urm sh -c 'mount --bind "${victimDir}" "${mountPoint}" || exit 1; ` +
        `readlink /proc/self/ns/user > "${work}/userns/NS"; echo ready > "${work}/userns/READY"; exec sleep 120'`,
    );
    cleanups.push(() => attacker.stop());
    // As root, put the attacker at the root cgroup of every hierarchy, so every path it shows is "/".
    for (const m of allHierarchyMounts()) {
      await Deno.writeTextFile(join(m, "cgroup.procs"), `${attacker.pid}\n`);
    }
    await attacker.go();
    const cgroupLines = (await Deno.readTextFile(`/proc/${attacker.pid}/cgroup`)).trim().split("\n");
    assert.ok(cgroupLines.every((l) => l.endsWith(":/")), cgroupLines.join("\n"));
    const mountinfo = await Deno.readTextFile(`/proc/${attacker.pid}/mountinfo`);
    assert.ok(
      mountinfo.includes(` ${victim.cgroupPath} ${mountPoint} `),
      "the forged mount is in its mountinfo",
    );
    assert.notEqual(
      await Deno.readLink(`/proc/${attacker.pid}/ns/user`),
      await Deno.readLink("/proc/self/ns/user"),
    );
    for (const p of [host, legacyHost]) assert.deepEqual(await p.client.attest(attacker.pid), []);
    await expectVictimSelectors();
  });

  it("the same bind mount made by root in the initial user namespace is still honoured", async () => {
    // The legitimate use of the mountinfo fallback: a process at the root of our cgroup namespace whose
    // cgroup mount, made by root, names its container.
    const h = hierarchies[0];
    const victimDir = join(h.mountPoint, victim.cgroupPath);
    const mountPoint = await Deno.makeTempDir({ dir: work, prefix: "mnt-root-" });
    const ready = join(mountPoint + ".ready");
    const child = new Deno.Command("unshare", {
      args: [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        `mount --bind "${victimDir}" "${mountPoint}" && echo ok > "${ready}"; exec sleep 120`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    cleanups.push(() => kill(child));
    for (const m of allHierarchyMounts()) await Deno.writeTextFile(join(m, "cgroup.procs"), `${child.pid}\n`);
    for (let i = 0; i < 500; i++) {
      if (await Deno.stat(ready).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(
      await Deno.readLink(`/proc/${child.pid}/ns/user`),
      await Deno.readLink("/proc/self/ns/user"),
    );
    assert.deepEqual(
      await host.client.attest(child.pid),
      expectedWebAppSelectors(victim.podUid, NODE),
      "the new locator reads a root-made cgroup mount in the initial user namespace",
    );
    assert.deepEqual(
      await legacyHost.client.attest(child.pid),
      [],
      "the legacy locator never reads mountinfo",
    );
  });
});
