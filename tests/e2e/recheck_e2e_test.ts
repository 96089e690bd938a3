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
import { type KubepodsCgroup, placeInCgroup } from "../../src/testing/cgroups.ts";
import { type FakeKubelet, startFakeKubelet } from "../../src/testing/fake_kubelet.ts";
import type { PluginHost } from "../../src/testing/plugin_host.ts";
import { expectedWebAppSelectors } from "../testdata/demo_pod_selectors.ts";
import { disposeAll, loadPlugin as load } from "./_agent.ts";
import { cgroupSupport, kill, spawnSleep, workloadCgroupPath } from "./_workload.ts";

const NS_LAST_PID = "/proc/sys/kernel/ns_last_pid";
/** How long the kubelet holds each answer: ample time to act, and the act is checked to finish first. */
const KUBELET_DELAY_MS = 2500;
const NODE = "node-recheck";

const { hierarchies, skip } = await cgroupSupport("re-check e2e: ");

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

/** How long the `sleep` processes run: longer than any test. */
const SLEEP_SECONDS = 300;

/** `/proc/<pid>/stat` field 22 for a `sleep` process (its comm has no spaces or parentheses). */
function startTime(pid: number): string {
  return Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ")[19];
}

describe("re-check before answering: processes that change during a slow kubelet answer", { skip }, () => {
  const hierarchy = hierarchies[0];
  let kubelet: FakeKubelet;
  const hosts: PluginHost[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    kubelet = await startFakeKubelet();
  });

  after(async () => {
    await disposeAll(hosts);
    for (const c of cleanups.reverse()) await c();
    await kubelet?.stop();
  });

  /** One pod, one container cgroup, two `sleep` processes in it: the one the test changes, and a witness. */
  async function startPod() {
    const podUid = crypto.randomUUID();
    const containerId = randomContainerId();
    const path = workloadCgroupPath(hierarchy, podUid, containerId);
    const changed = spawnSleep(SLEEP_SECONDS);
    const witness = spawnSleep(SLEEP_SECONDS);
    const extra: Deno.ChildProcess[] = [];
    let cgroup: KubepodsCgroup | null = null;
    const cleanup = async () => {
      for (const c of [changed, witness, ...extra]) await kill(c);
      await cgroup?.remove();
    };
    cleanups.push(cleanup);
    cgroup = await placeInCgroup(hierarchy, path, changed.pid);
    const move = (pid: number, to: string) =>
      Deno.writeTextFileSync(`${hierarchy.mountPoint}${to}/cgroup.procs`, `${pid}\n`);
    move(witness.pid, cgroup.path);
    kubelet.setPods(demoPodList({ podUid, containerId, nodeName: NODE }));
    return { podUid, containerId, path: cgroup.path, changed, witness, extra, move };
  }
  type Pod = Awaited<ReturnType<typeof startPod>>;

  function loadPlugin(): Promise<PluginHost> {
    // A short retry interval: the list fetched by an earlier call is never reused from the cache.
    return load(
      `kubelet_read_only_port = ${kubelet.port}\nnode_name = "${NODE}"\npoll_retry_interval = "50ms"\n`,
      hosts,
    );
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

  /**
   * Kills the pod's changed process and starts a host process that gets its PID (kept in `pod.extra`);
   * fails when other processes kept taking the PID.
   */
  async function reusePid(pod: Pod): Promise<void> {
    const pid = pod.changed.pid;
    await kill(pod.changed);
    for (let attempt = 0; attempt < 200; attempt++) {
      Deno.writeTextFileSync(NS_LAST_PID, String(pid - 1));
      const next = spawnSleep(SLEEP_SECONDS);
      if (next.pid === pid) {
        pod.extra.push(next);
        return;
      }
      await kill(next); // another process on the machine took the PID first; try again
    }
    assert.fail(`could not give PID ${pid} to a new process in 200 attempts`);
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

  /**
   * A PID reuse case: while the kubelet answer is held, the changed process dies and its PID goes to a new
   * process, which `place` may move and checks. The PID must get FAILED_PRECONDITION naming both start
   * times, and the unchanged process exactly its selectors.
   */
  async function pidReuseCase(place: (pod: Pod, pid: number) => void): Promise<void> {
    const pod = await startPod();
    const host = await loadPlugin();
    const pid = pod.changed.pid;
    const before = startTime(pid);
    let after = "";
    const { changed, witness } = await duringSlowAnswer(host, pid, pod.witness.pid, async () => {
      await reusePid(pod);
      place(pod, pid);
      after = startTime(pid);
      assert.notEqual(after, before);
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
  }

  it(
    "(3) killed and its PID given to a new host process → FAILED_PRECONDITION",
    { skip: reuseSkip },
    () =>
      pidReuseCase((pod, pid) => {
        assert.ok(!Deno.readTextFileSync(`/proc/${pid}/cgroup`).includes(pod.containerId), "a host process");
      }),
  );

  it("(3b) the PID given to a new process put into the same container → still FAILED_PRECONDITION", {
    skip: reuseSkip,
  }, () =>
    pidReuseCase((pod, pid) => {
      pod.move(pid, pod.path); // same pod, same container: only the start time tells it apart
      assert.ok(Deno.readTextFileSync(`/proc/${pid}/cgroup`).includes(pod.containerId));
    }));
});
