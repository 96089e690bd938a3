/**
 * End to end on Linux, through the plugin as spire-agent loads it: real processes in a real kubepods cgroup,
 * and a fake kubelet that holds its answer. While the answer is pending, one process of the pod moves to
 * the root cgroup, exits, or exits and has its PID given to a new host process (through
 * `/proc/sys/kernel/ns_last_pid`). That process must get an error, and another, unchanged process of the
 * same container, attested in the same window, must get exactly its selectors.
 *
 * Skipped, with the reason, where cgroups cannot be created or the kernel refuses `ns_last_pid`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { demoPodList, randomContainerId } from "../../src/demo/pods.ts";
import {
  type CgroupHierarchy,
  detectCgroupSupport,
  type KubepodsCgroup,
  kubepodsPath,
  placeInCgroup,
} from "../../src/testing/cgroups.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import { PluginHost } from "../../src/testing/plugin_host.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";

const NS_LAST_PID = "/proc/sys/kernel/ns_last_pid";
/** How long the kubelet holds each answer: ample time to act, and the act is checked to finish first. */
const KUBELET_DELAY_MS = 2500;
const NODE = "node-recheck";

const support = await detectCgroupSupport();
const skip = typeof support === "string" ? `SKIPPED (real cgroups unavailable): ${support}` : false;
if (skip) console.error(`\n*** re-check e2e: ${skip} ***\n`);

/** Why PIDs cannot be steered here, or `false`: writes the current value back, which changes nothing. */
function nsLastPidRefusal(): string | false {
  if (Deno.build.os !== "linux") return `${NS_LAST_PID} needs Linux`;
  try {
    const current = Deno.readTextFileSync(NS_LAST_PID).trim();
    Deno.writeTextFileSync(NS_LAST_PID, current);
    return false;
  } catch (err) {
    return `the kernel refuses writes to ${NS_LAST_PID}: ${err instanceof Error ? err.message : err}`;
  }
}
const reuseSkip = skip || (() => {
  const why = nsLastPidRefusal();
  if (why) console.error(`\n*** re-check e2e: PID reuse cases SKIPPED: ${why} ***\n`);
  return why ? `SKIPPED: ${why}` : false;
})();

type Outcome = { selectors: string[] } | { code: number; details: string };

function outcome(call: Promise<string[]>): Promise<Outcome> {
  return call.then(
    (selectors) => ({ selectors }),
    (err: { code: number; details: string }) => ({ code: err.code, details: err.details }),
  );
}

function spawnSleep(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["300"], stdin: "null", stdout: "null", stderr: "null" }).spawn();
}

async function kill(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
  await child.status;
}

/** `/proc/<pid>/stat` field 22 for a `sleep` process (its comm has no spaces or parentheses). */
function startTime(pid: number): string {
  return Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ")[19];
}

describe("re-check before answering: processes that change during a slow kubelet answer", { skip }, () => {
  const hierarchy = typeof support === "string" ? undefined : support[0] as CgroupHierarchy;
  let kubelet: FakeKubelet;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    kubelet = await startFakeKubelet();
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await kubelet?.stop();
  });

  /** One pod, one container cgroup, two `sleep` processes in it: the one the test changes, and a witness. */
  async function startPod() {
    const podUid = crypto.randomUUID();
    const containerId = randomContainerId();
    const driver = hierarchy!.version === 2 ? "systemd" : "cgroupfs";
    const path = kubepodsPath(driver, "burstable", podUid, containerId);
    const changed = spawnSleep();
    const witness = spawnSleep();
    const extra: Deno.ChildProcess[] = [];
    let cgroup: KubepodsCgroup | null = null;
    const cleanup = async () => {
      for (const c of [changed, witness, ...extra]) await kill(c);
      await cgroup?.remove();
    };
    cleanups.push(cleanup);
    cgroup = await placeInCgroup(hierarchy!, path, changed.pid);
    const move = (pid: number, to: string) =>
      Deno.writeTextFileSync(`${hierarchy!.mountPoint}${to}/cgroup.procs`, `${pid}\n`);
    move(witness.pid, cgroup.path);
    kubelet.setPods(demoPodList({ podUid, containerId, nodeName: NODE }));
    return { podUid, containerId, path: cgroup.path, changed, witness, extra, move };
  }

  async function loadPlugin(): Promise<PluginHost> {
    const host = await PluginHost.start({ env: { MY_NODE_NAME: undefined } });
    cleanups.push(() => host.dispose());
    // A short retry interval: the list fetched by an earlier call is never reused from the cache.
    await host.load({
      hcl: `kubelet_read_only_port = ${kubelet.port}\nnode_name = "${NODE}"\npoll_retry_interval = "50ms"\n`,
    });
    return host;
  }

  /**
   * Attests `changedPid`, waits until the plugin has asked the kubelet (so its first lookup is done), then
   * attests `witnessPid`, runs `act` and checks that the kubelet had not answered yet when `act` finished.
   */
  async function duringSlowAnswer(
    host: PluginHost,
    changedPid: number,
    witnessPid: number,
    act: () => void | Promise<void>,
  ): Promise<{ changed: Outcome; witness: Outcome }> {
    kubelet.setFault({ delayMs: KUBELET_DELAY_MS });
    try {
      const asked = kubelet.requestCount;
      const answered = kubelet.requests.length;
      const changed = outcome(host.client.attest(changedPid));
      while (kubelet.requestCount === asked) await new Promise((r) => setTimeout(r, 2));
      const witness = outcome(host.client.attest(witnessPid));
      await act();
      assert.equal(kubelet.requests.length, answered, "the act finished before the kubelet answered");
      return { changed: await changed, witness: await witness };
    } finally {
      kubelet.setFault(null);
    }
  }

  function assertError(got: Outcome, code: number, details: RegExp): void {
    assert.ok("code" in got, `expected an error, got selectors ${JSON.stringify(got)}`);
    assert.equal(got.code, code, got.details);
    assert.match(got.details, details);
  }

  /** Kills `victim` and starts a process that gets its PID; `null` when other processes kept taking it. */
  async function reusePid(victim: Deno.ChildProcess): Promise<Deno.ChildProcess | null> {
    const pid = victim.pid;
    await kill(victim);
    for (let attempt = 0; attempt < 200; attempt++) {
      Deno.writeTextFileSync(NS_LAST_PID, String(pid - 1));
      const next = spawnSleep();
      if (next.pid === pid) return next;
      await kill(next); // another process on the machine took the PID first; try again
    }
    return null;
  }

  it("(1) moved to the root cgroup → FAILED_PRECONDITION; the unchanged process gets its selectors", async () => {
    const pod = await startPod();
    const host = await loadPlugin();
    const { changed, witness } = await duringSlowAnswer(host, pod.changed.pid, pod.witness.pid, () => {
      pod.move(pod.changed.pid, "");
      assert.ok(!Deno.readTextFileSync(`/proc/${pod.changed.pid}/cgroup`).includes(pod.containerId));
    });
    assertError(
      changed,
      9,
      new RegExp(
        `^process ${pod.changed.pid} changed during attestation: it was located in pod UID "${pod.podUid}", ` +
          `container ID "${pod.containerId}" and is now in no container$`,
      ),
    );
    assert.deepEqual(witness, { selectors: expectedWebAppSelectors(pod.podUid, NODE) });
  });

  it("(2) killed → NOT_FOUND; the unchanged process gets its selectors", async () => {
    const pod = await startPod();
    const host = await loadPlugin();
    const { changed, witness } = await duringSlowAnswer(host, pod.changed.pid, pod.witness.pid, async () => {
      await kill(pod.changed); // and reaped: the PID is free
    });
    assertError(
      changed,
      5,
      new RegExp(
        `^process ${pod.changed.pid} could not be located again after its pod matched: process ` +
          `${pod.changed.pid} does not exist \\(no directory "/proc/${pod.changed.pid}"\\)$`,
      ),
    );
    assert.deepEqual(witness, { selectors: expectedWebAppSelectors(pod.podUid, NODE) });
  });

  it(
    "(3) killed and its PID given to a new host process → FAILED_PRECONDITION",
    { skip: reuseSkip },
    async () => {
      const pod = await startPod();
      const host = await loadPlugin();
      const pid = pod.changed.pid;
      const before = startTime(pid);
      let after = "";
      const { changed, witness } = await duringSlowAnswer(host, pid, pod.witness.pid, async () => {
        const next = await reusePid(pod.changed);
        assert.ok(next, `could not give PID ${pid} to a new process in 200 attempts`);
        pod.extra.push(next);
        after = startTime(pid);
        assert.notEqual(after, before);
        assert.ok(!Deno.readTextFileSync(`/proc/${pid}/cgroup`).includes(pod.containerId), "a host process");
      });
      assertError(
        changed,
        9,
        new RegExp(
          `^process ${pid} changed during attestation: PID ${pid} now belongs to another process \\(start ` +
            `time ${before} when located, ${after} now\\)$`,
        ),
      );
      assert.deepEqual(witness, { selectors: expectedWebAppSelectors(pod.podUid, NODE) });
    },
  );

  it("(3b) the PID given to a new process put into the same container → still FAILED_PRECONDITION", {
    skip: reuseSkip,
  }, async () => {
    const pod = await startPod();
    const host = await loadPlugin();
    const pid = pod.changed.pid;
    const before = startTime(pid);
    let after = "";
    const { changed, witness } = await duringSlowAnswer(host, pid, pod.witness.pid, async () => {
      const next = await reusePid(pod.changed);
      assert.ok(next, `could not give PID ${pid} to a new process in 200 attempts`);
      pod.extra.push(next);
      pod.move(pid, pod.path); // same pod, same container: only the start time tells it apart
      after = startTime(pid);
      assert.ok(Deno.readTextFileSync(`/proc/${pid}/cgroup`).includes(pod.containerId));
    });
    assertError(
      changed,
      9,
      new RegExp(
        `^process ${pid} changed during attestation: PID ${pid} now belongs to another process \\(start time ${before} when located, ${after} now\\)$`,
      ),
    );
    assert.deepEqual(witness, { selectors: expectedWebAppSelectors(pod.podUid, NODE) });
  });
});
