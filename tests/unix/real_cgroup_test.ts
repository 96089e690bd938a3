/**
 * End to end on real cgroups: creates kubepods-style cgroups (cgroupfs naming under the v1 `pids` hierarchy,
 * systemd naming under the v2 hierarchy), moves a real `sleep` child into them and checks what `locate`
 * finds in the real `/proc/<pid>`. Needs root and writable cgroup mounts; otherwise each test is skipped with
 * the reason. Everything created is removed in `after`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createUnixLocator } from "../../src/platform/unix/locator.ts";
import { runLocate } from "../../src/cli/locate.ts";
import { kubepodsPath } from "../../src/testing/cgroups.ts";

interface Hierarchy {
  /** Where it is mounted. */
  readonly mount: string;
  /** This process's cgroup in it (from /proc/self/cgroup), where the child is moved back to. */
  readonly home: string;
}

function readMounts(): { v1Pids?: string; v2?: string } {
  const out: { v1Pids?: string; v2?: string } = {};
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-");
    if (sep < 0 || f[3] !== "/") continue;
    const [fsType, , superOpts = ""] = f.slice(sep + 1);
    if (fsType === "cgroup" && superOpts.split(",").includes("pids")) out.v1Pids ??= f[4];
    if (fsType === "cgroup2") out.v2 ??= f[4];
  }
  return out;
}

function ownCgroups(): { pids?: string; unified?: string } {
  const out: { pids?: string; unified?: string } = {};
  for (const line of Deno.readTextFileSync("/proc/self/cgroup").split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "0" && m[2] === "") out.unified = m[3];
    else if (m[2].split(",").includes("pids")) out.pids = m[3];
  }
  return out;
}

/** Returns the hierarchy, or the reason it cannot be used. */
function probe(mount: string | undefined, home: string | undefined, label: string): Hierarchy | string {
  if (Deno.build.os !== "linux") return `${label}: not Linux`;
  if (Deno.uid() !== 0) return `${label}: not root (uid ${Deno.uid()}), cannot create cgroups`;
  if (!mount) return `${label}: no such hierarchy mounted on this machine`;
  if (home === undefined || home.includes("..")) {
    return `${label}: this process's own cgroup is unknown or outside its namespace (${home})`;
  }
  const dir = join(mount, `k8s-attestor-probe-${Deno.pid}`);
  try {
    Deno.mkdirSync(dir);
    Deno.removeSync(dir);
  } catch (err) {
    return `${label}: cannot create a cgroup under ${mount} (${(err as Error).message})`;
  }
  return { mount, home };
}

const mounts = readMounts();
const own = ownCgroups();
const v1 = probe(mounts.v1Pids, own.pids, "cgroup v1 pids");
const v2 = probe(mounts.v2, own.unified, "cgroup v2");
const skipV1 = typeof v1 === "string" ? v1 : false;
const skipV2 = typeof v2 === "string" ? v2 : false;
const skipBoth = skipV1 || skipV2;
// deno test shows skipped node:test cases as "ignored" without the reason, so say why here.
for (const reason of [skipV1, skipV2]) if (reason) console.warn(`real-cgroup tests skipped: ${reason}`);
const modPath = fileURLToPath(new URL("../../mod.ts", import.meta.url));

const hex = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n / 2)), (b) => b.toString(16).padStart(2, "0")).join("");
const POD = crypto.randomUUID();
const CID = hex(64);
const CID2 = hex(64);
/** A kubelet `--cgroup-root` of this run's own, so parallel runs never share (and remove) a directory. */
const CGROUP_ROOT = `/k8s_attestor_test_${Deno.pid}`;

describe("locate on real cgroups", () => {
  let child: Deno.ChildProcess | undefined;
  const created: string[] = [];
  const v1Path = (cid: string) => kubepodsPath("cgroupfs", "burstable", POD, cid, CGROUP_ROOT);
  const v2Path = () => kubepodsPath("systemd", "burstable", POD, CID, CGROUP_ROOT);
  const locator = (legacy = false) =>
    createUnixLocator({ useNewContainerLocator: !legacy, cgroupRoots: [CGROUP_ROOT] });
  const rootArgs = ["--kubelet-cgroup-root", CGROUP_ROOT];

  function makeCgroup(h: Hierarchy, path: string): void {
    let dir = h.mount;
    for (const part of path.split("/").filter(Boolean)) {
      dir = join(dir, part);
      try {
        Deno.mkdirSync(dir);
        created.push(dir);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      }
    }
  }
  function moveChild(h: Hierarchy, path: string): void {
    Deno.writeTextFileSync(join(h.mount, path, "cgroup.procs"), String(child!.pid));
  }
  async function expectLocate(
    expected: { podUid: string | null; containerId: string | null },
  ): Promise<void> {
    const pid = child!.pid;
    // The child is `sleep` (a comm without spaces or parentheses), so a plain split finds field 22.
    const startTime = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ")[19];
    for (const legacy of [false, true]) {
      const got = await locator(legacy).locate(pid);
      assert.deepEqual(got, { ...expected, startTime }, `library, legacy=${legacy}`);
      let out = "";
      const code = await runLocate(["--pid", String(pid), ...rootArgs, ...(legacy ? ["--legacy"] : [])], {
        stdout: (s) => (out += s),
      });
      assert.equal(code, 0, out);
      assert.equal(out, JSON.stringify(expected) + "\n");
    }
  }

  before(() => {
    if (skipV1 && skipV2) return;
    child = new Deno.Command("sleep", { args: ["600"], stdout: "null", stderr: "null" }).spawn();
    if (typeof v1 !== "string") {
      makeCgroup(v1, v1Path(CID));
      makeCgroup(v1, v1Path(CID2));
    }
    if (typeof v2 !== "string") makeCgroup(v2, v2Path());
  });

  after(async () => {
    const problems: string[] = [];
    if (child) {
      for (const h of [v1, v2]) {
        if (typeof h === "string") continue;
        try {
          Deno.writeTextFileSync(join(h.mount, h.home, "cgroup.procs"), String(child.pid));
        } catch (err) {
          problems.push(`moving the child back under ${h.mount}: ${(err as Error).message}`);
        }
      }
      child.kill("SIGKILL");
      await child.status;
    }
    for (const dir of created.reverse()) {
      try {
        Deno.removeSync(dir);
      } catch (err) {
        problems.push(`rmdir ${dir}: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(problems, [], "cleanup");
  });

  it("cgroupfs naming under the v1 pids hierarchy", { skip: skipV1 }, async () => {
    const h = v1 as Hierarchy;
    moveChild(h, v1Path(CID));
    const line = Deno.readTextFileSync(`/proc/${child!.pid}/cgroup`).split("\n").find((l) =>
      /^\d+:pids:/.test(l)
    );
    assert.equal(line?.replace(/^\d+:pids:/, ""), v1Path(CID), "the kernel reports the cgroup we made");
    await expectLocate({ podUid: POD, containerId: CID });
    moveChild(h, h.home);
  });

  it("systemd naming under the v2 hierarchy", { skip: skipV2 }, async () => {
    const h = v2 as Hierarchy;
    moveChild(h, v2Path());
    assert.ok(Deno.readTextFileSync(`/proc/${child!.pid}/cgroup`).includes(`0::${v2Path()}\n`));
    await expectLocate({ podUid: POD, containerId: CID });
  });

  it("both hierarchies naming the same container (hybrid)", { skip: skipBoth }, async () => {
    moveChild(v1 as Hierarchy, v1Path(CID));
    moveChild(v2 as Hierarchy, v2Path());
    await expectLocate({ podUid: POD, containerId: CID });
  });

  it("both hierarchies naming different containers is a conflict", { skip: skipBoth }, async () => {
    moveChild(v1 as Hierarchy, v1Path(CID2));
    moveChild(v2 as Hierarchy, v2Path());
    const pid = child!.pid;
    // The pids line comes before the 0:: line in the kernel's order.
    await assert.rejects(locator().locate(pid), {
      reason: "id-conflict",
      message: `multiple container IDs found ("${CID2}", "${CID}")`,
    });
    await assert.rejects(locator(true).locate(pid), {
      reason: "id-conflict",
      message: `multiple container IDs found in cgroups (${CID2}, ${CID})`,
    });
    let out = "";
    assert.equal(await runLocate(["--pid", String(pid), ...rootArgs], { stdout: (s) => (out += s) }), 1);
    assert.deepEqual(JSON.parse(out), { error: `multiple container IDs found ("${CID2}", "${CID}")` });
    moveChild(v1 as Hierarchy, v1Path(CID));
  });

  it(
    "`deno run -A mod.ts locate --pid N` on the real process",
    {
      skip: skipV1 && skipV2 ? `${skipV1}; ${skipV2}` : false,
    },
    async () => {
      if (typeof v1 !== "string") moveChild(v1, v1Path(CID));
      if (typeof v2 !== "string") moveChild(v2, v2Path());
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", modPath, "locate", "--pid", String(child!.pid), ...rootArgs],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, `${stdout}${new TextDecoder().decode(out.stderr)}`);
      assert.equal(stdout, JSON.stringify({ podUid: POD, containerId: CID }) + "\n");
    },
  );

  it("the test process itself, outside the created cgroups, is not located in them", {
    skip: skipV1 && skipV2 ? skipV1 : false,
  }, async () => {
    const self = await locator().locate(Deno.pid);
    assert.notEqual(self.containerId, CID);
    assert.notEqual(self.containerId, CID2);
  });
});
