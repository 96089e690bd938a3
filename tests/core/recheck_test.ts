/**
 * The core's re-check before answering: after the pod list matched, the process is located again and must
 * be the same process (start time) in the same pod and container. The locator here is a fake whose answer
 * the test changes while the "kubelet" is being asked, which is exactly when a real process can move, exit
 * or lose its PID to another process (tests/e2e/recheck_e2e_test.ts does that with real processes).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAttestCore } from "../../src/core/attest.ts";
import { confirmSameProcess } from "../../src/core/recheck.ts";
import { AttestorError } from "../../src/errors.ts";
import type { PodListSource } from "../../src/core/types.ts";
import { nullLogger } from "../../src/log.ts";
import type { ContainerLocation, ContainerLocator } from "../../src/platform/types.ts";
import { FakePodList, type FakeStep, rejectsWith } from "./fakes.ts";
import {
  NODE,
  PENDING_CID,
  PENDING_UID,
  PROXY_CID,
  SHELL_CID,
  SHELL_CONTAINER,
  SHELL_UID,
  sorted,
  WEB_CID,
  WEB_UID,
  workerStarted,
} from "./_node_pods.ts";

/** node_pods.json once the pending worker's container has started. */
const RUNNING = workerStarted(PENDING_CID);
const PID = 4242;

const SHELL_SELECTORS = sorted(SHELL_CONTAINER);

const IN_SHELL: ContainerLocation = { podUid: SHELL_UID, containerId: SHELL_CID, startTime: "1000" };

/**
 * A locator whose answer is whatever `now` holds when it is called (a location, or an error to throw, or
 * "hang"), and a pod source that runs `duringFetch` while the kubelet is being asked. Both record the order
 * of calls in `events`.
 */
function world(options: {
  first: ContainerLocation;
  duringFetch?: (world: { now: ContainerLocation | Error | "hang" }) => void;
  steps?: FakeStep[];
  disableContainerSelectors?: boolean;
}) {
  const events: string[] = [];
  const state: { now: ContainerLocation | Error | "hang" } = { now: options.first };
  const locator: ContainerLocator = {
    locate(pid, signal) {
      events.push(`locate ${pid}`);
      const answer = state.now;
      if (answer === "hang") {
        return new Promise((_resolve, reject) => {
          signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        });
      }
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
  const inner = new FakePodList(options.steps ?? [NODE]);
  const pods: PodListSource = {
    fetchNext(after, signal) {
      events.push("fetch");
      options.duringFetch?.(state);
      return inner.fetchNext(after, signal);
    },
  };
  const core = createAttestCore({
    locator,
    pods,
    logger: nullLogger,
    config: { maxPollAttempts: 5, disableContainerSelectors: options.disableContainerSelectors ?? false },
  });
  return { core, events, state };
}

describe("attest: the process is re-checked after the pod list matched", () => {
  it("unchanged: exactly its selectors, located before and again after the kubelet was asked", async () => {
    const { core, events } = world({ first: IN_SHELL });
    assert.deepEqual(await core.attest(PID, new AbortController().signal), SHELL_SELECTORS);
    assert.deepEqual(events, [`locate ${PID}`, "fetch", `locate ${PID}`]);
  });

  it("found on the third list: the re-check comes after the last fetch", async () => {
    const { core, events } = world({
      first: { podUid: PENDING_UID, containerId: PENDING_CID, startTime: "7" },
      steps: [NODE, NODE, RUNNING],
    });
    const result = await core.attestDetailed(PID, new AbortController().signal);
    assert.ok(result.selectors.includes(`pod-uid:${PENDING_UID}`));
    assert.equal(result.attempts, 3);
    assert.deepEqual(events, [`locate ${PID}`, "fetch", "fetch", "fetch", `locate ${PID}`]);
  });

  it("exited while the kubelet was asked → process-gone", async () => {
    const { core } = world({
      first: IN_SHELL,
      duringFetch: (w) => {
        w.now = new AttestorError(
          "process-gone",
          `process ${PID} does not exist (no directory "/proc/${PID}")`,
        );
      },
    });
    await rejectsWith(
      core.attest(PID),
      "process-gone",
      `process ${PID} could not be located again after its pod matched: process ${PID} does not exist ` +
        `(no directory "/proc/${PID}")`,
    );
  });

  it("moved out of the pod (to the root cgroup: no container) → process-changed naming both", async () => {
    const { core } = world({
      first: IN_SHELL,
      duringFetch: (w) => (w.now = { podUid: null, containerId: null, startTime: "1000" }),
    });
    await rejectsWith(
      core.attest(PID),
      "process-changed",
      `process ${PID} changed during attestation: it was located in pod UID "${SHELL_UID}", container ID ` +
        `"${SHELL_CID}" and is now in no container`,
    );
  });

  it("moved into another pod's container → process-changed naming both", async () => {
    const { core } = world({
      first: IN_SHELL,
      duringFetch: (w) => (w.now = { podUid: WEB_UID, containerId: WEB_CID, startTime: "1000" }),
    });
    await rejectsWith(
      core.attest(PID),
      "process-changed",
      `process ${PID} changed during attestation: it was located in pod UID "${SHELL_UID}", container ID ` +
        `"${SHELL_CID}" and is now in pod UID "${WEB_UID}", container ID "${WEB_CID}"`,
    );
  });

  it("moved to another container of the same pod → process-changed", async () => {
    const { core } = world({
      first: { podUid: WEB_UID, containerId: WEB_CID, startTime: "1000" },
      duringFetch: (w) => (w.now = { podUid: WEB_UID, containerId: PROXY_CID, startTime: "1000" }),
    });
    await rejectsWith(
      core.attest(PID),
      "process-changed",
      /is now in pod UID ".*", container ID "98b24e/,
    );
  });

  it("PID reused by a host process → process-changed naming both start times", async () => {
    const { core } = world({
      first: IN_SHELL,
      duringFetch: (w) => (w.now = { podUid: null, containerId: null, startTime: "1234" }),
    });
    await rejectsWith(
      core.attest(PID),
      "process-changed",
      `process ${PID} changed during attestation: PID ${PID} now belongs to another process (start time ` +
        `1000 when located, 1234 now)`,
    );
  });

  it("PID reused by a process of the same container → still refused (another process)", async () => {
    const { core } = world({
      first: IN_SHELL,
      duringFetch: (w) => (w.now = { ...IN_SHELL, startTime: "1001" }),
    });
    await rejectsWith(
      core.attest(PID),
      "process-changed",
      /now belongs to another process \(start time 1000 when located, 1001 now\)$/,
    );
  });

  it("a second lookup that reports no start time → process-changed", async () => {
    const { core } = world({
      first: IN_SHELL,
      duringFetch: (w) => (w.now = { podUid: SHELL_UID, containerId: SHELL_CID }),
    });
    await rejectsWith(
      core.attest(PID),
      "process-changed",
      /\(start time 1000 when located, unknown now\)$/,
    );
  });

  it("a second lookup that fails otherwise keeps its reason, with what was being done", async () => {
    const { core } = world({
      first: IN_SHELL,
      duringFetch: (w) => (w.now = new AttestorError("id-conflict", "multiple container IDs found")),
    });
    await rejectsWith(
      core.attest(PID),
      "id-conflict",
      `process ${PID} could not be located again after its pod matched: multiple container IDs found`,
    );
  });

  it("a first lookup without a start time is refused, not guessed (process-unverifiable)", async () => {
    const { core, events } = world({ first: { podUid: SHELL_UID, containerId: SHELL_CID } });
    await rejectsWith(
      core.attest(PID),
      "process-unverifiable",
      `cannot confirm that process ${PID} is unchanged: the container locator reported no start time for ` +
        `it (a proc root without /proc/${PID}/stat?)`,
    );
    assert.deepEqual(events, [`locate ${PID}`, "fetch"]);
  });

  it("disable_container_selectors (pod matched by UID alone) is re-checked too", async () => {
    const moved = world({
      first: { podUid: PENDING_UID, containerId: PENDING_CID, startTime: "5" },
      disableContainerSelectors: true,
      duringFetch: (w) => (w.now = { podUid: null, containerId: null, startTime: "5" }),
    });
    await rejectsWith(moved.core.attest(PID), "process-changed", /is now in no container$/);
    const same = world({
      first: { podUid: PENDING_UID, containerId: PENDING_CID, startTime: "5" },
      disableContainerSelectors: true,
    });
    const selectors = await same.core.attest(PID);
    assert.ok(selectors.includes(`pod-uid:${PENDING_UID}`) && selectors.includes("sa:queue"));
    assert.deepEqual(same.events, [`locate ${PID}`, "fetch", `locate ${PID}`]);
  });

  it("not in a container: no selectors from one lookup, nothing fetched, no second lookup", async () => {
    const { core, events } = world({ first: { podUid: null, containerId: null, startTime: "9" } });
    assert.deepEqual(await core.attest(PID), []);
    assert.deepEqual(events, [`locate ${PID}`]);
  });

  it("cancelled during the second lookup → cancelled, message unchanged", async () => {
    const controller = new AbortController();
    const { core, events } = world({ first: IN_SHELL, duringFetch: (w) => (w.now = "hang") });
    const done = core.attest(PID, controller.signal);
    let settled = false;
    done.then(() => (settled = true), () => (settled = true));
    while (events.length < 3 && !settled) await new Promise((r) => setTimeout(r, 1));
    assert.deepEqual(events, [`locate ${PID}`, "fetch", `locate ${PID}`], "waiting in the second lookup");
    controller.abort();
    await rejectsWith(done, "cancelled", "context canceled");
  });
});

describe("attest: a locator's relocate serves the re-check", () => {
  /** A locator with `relocate`: `now` answers both, `events` records the calls and the opening start time. */
  function relocating(now: () => ContainerLocation) {
    const events: string[] = [];
    const locator: ContainerLocator = {
      locate(pid) {
        events.push(`locate ${pid}`);
        return Promise.resolve(now());
      },
      relocate(pid, first) {
        events.push(`relocate ${pid} after ${first.startTime}`);
        return Promise.resolve(now());
      },
    };
    const core = createAttestCore({
      locator,
      pods: new FakePodList([NODE]),
      logger: nullLogger,
      config: { maxPollAttempts: 5, disableContainerSelectors: false },
    });
    return { core, events };
  }

  it("is called after the match with the first location (its start time opens the bracket)", async () => {
    const { core, events } = relocating(() => IN_SHELL);
    assert.deepEqual(await core.attest(PID, new AbortController().signal), SHELL_SELECTORS);
    assert.deepEqual(events, [`locate ${PID}`, `relocate ${PID} after 1000`]);
  });

  it("a start time it reads that differs from the first lookup's → process-changed", async () => {
    let calls = 0;
    const { core } = relocating(() => calls++ === 0 ? IN_SHELL : { ...IN_SHELL, startTime: "1001" });
    await rejectsWith(
      core.attest(PID),
      "process-changed",
      `process ${PID} changed during attestation: PID ${PID} now belongs to another process (start time ` +
        `1000 when located, 1001 now)`,
    );
  });
});

describe("confirmSameProcess", () => {
  it("passes a non-AttestorError from the second lookup through unchanged", async () => {
    const boom = new TypeError("boom");
    await assert.rejects(confirmSameProcess(1, IN_SHELL, () => Promise.reject(boom)), (err) => err === boom);
  });

  it("passes an error thrown after the signal aborted through unchanged", async () => {
    const own = new AttestorError("shutting-down", "plugin shutting down");
    await assert.rejects(
      confirmSameProcess(1, IN_SHELL, () => Promise.reject(own), AbortSignal.abort()),
      (err) => err === own,
    );
  });
});
