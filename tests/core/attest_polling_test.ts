/**
 * The attestor core over time: polling for newer lists (retries, give-up, which errors end a call),
 * cancellation and deadlines, and the core with the real PodListFetcher.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAttestCore } from "../../src/core/attest.ts";
import { AttestorError, ERROR_REASONS, type ErrorReason } from "../../src/errors.ts";
import { PodListFetcher } from "../../src/kubelet/fetcher.ts";
import { nullLogger } from "../../src/log.ts";
import { countingController, fakeCore, FakeLocator, kubeletError, rejectsWith } from "./fakes.ts";
import {
  NODE,
  noSelectorsMessage,
  PENDING_CID,
  PENDING_POD,
  PENDING_UID,
  sorted,
  WEB_CID,
  WEB_UID,
  workerStarted,
} from "./_node_pods.ts";

/** The fetch errors the core retries; every other reason ends the call. */
const RETRIED: ReadonlySet<ErrorReason> = new Set<ErrorReason>([
  "kubelet-unreachable",
  "kubelet-rejected",
  "kubelet-bad-response",
  "pod-list-failed",
]);

describe("attest: polling", () => {
  it("a container that appears only after two refreshes is found on the third list", async () => {
    const { core, pods, lines } = fakeCore({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [workerStarted(null), workerStarted(null), workerStarted(PENDING_CID)],
    });
    const result = await core.attestDetailed(1);
    assert.deepEqual(
      result.selectors,
      sorted([
        ...PENDING_POD,
        "container-image:",
        "container-image:registry.example.com/shop/worker:1.0.3",
        "container-name:worker",
      ]),
    );
    assert.equal(result.attempts, 3);
    assert.deepEqual(pods.calls, [0, 1, 2]);
    const retries = lines.filter((l) => l.message === "Container id not found; will retry after backoff");
    assert.deepEqual(
      retries.map((l) => [l.level, l.fields.pod_uid, l.fields.container_id, l.fields.attempt]),
      [
        ["debug", PENDING_UID, PENDING_CID, 1],
        ["debug", PENDING_UID, PENDING_CID, 2],
      ],
    );
  });

  it("never appearing → pod-not-listed after exactly max_poll_attempts fetches, with a give-up warning", async () => {
    const { core, pods, lines } = fakeCore({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [NODE],
      config: { maxPollAttempts: 7 },
    });
    await rejectsWith(core.attest(1), "pod-not-listed", noSelectorsMessage(PENDING_UID, PENDING_CID, 7));
    assert.equal(pods.calls.length, 7);
    assert.deepEqual(lines.at(-1), {
      level: "warn",
      message: "Container id not found; giving up",
      fields: { pod_uid: PENDING_UID, container_id: PENDING_CID, attempt: 7 },
    });
  });

  it("max_poll_attempts = 1 → one fetch", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [NODE],
      config: { maxPollAttempts: 1 },
    });
    await rejectsWith(core.attest(1), "pod-not-listed", noSelectorsMessage(PENDING_UID, PENDING_CID, 1));
    assert.equal(pods.calls.length, 1);
  });

  it("kubelet errors are retried, and the container found afterwards", async () => {
    const { core, pods, lines } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [
        kubeletError(),
        kubeletError("unexpected status code on pods response: 503 busy", "kubelet-rejected"),
        NODE,
      ],
    });
    assert.ok((await core.attest(1)).includes("container-name:web"));
    assert.deepEqual(pods.calls, [0, 0, 0], "a failed fetch does not advance the version");
    const warns = lines.filter((l) => l.message === "Unable to get pod list; will retry after backoff");
    assert.deepEqual(warns.map((l) => [l.level, l.fields.attempt, l.fields.error]), [
      ["warn", 1, "unable to perform request: connection refused"],
      ["warn", 2, "unexpected status code on pods response: 503 busy"],
    ]);
  });

  it("a kubelet error on the last attempt → that error", async () => {
    const { core, pods, lines } = fakeCore({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [
        NODE,
        NODE,
        kubeletError(
          "unable to parse kubelet response: Unexpected end of JSON input",
          "kubelet-bad-response",
        ),
      ],
      config: { maxPollAttempts: 3 },
    });
    await rejectsWith(
      core.attest(1),
      "kubelet-bad-response",
      "unable to parse kubelet response: Unexpected end of JSON input",
    );
    assert.deepEqual(pods.calls, [0, 1, 2]);
    assert.equal(lines.at(-1)?.message, "Unable to get pod list; giving up");
  });

  it("an error earlier but a list on the last attempt → pod-not-listed", async () => {
    const { core } = fakeCore({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [kubeletError(), NODE],
      config: { maxPollAttempts: 2 },
    });
    await rejectsWith(core.attest(1), "pod-not-listed", noSelectorsMessage(PENDING_UID, PENDING_CID, 2));
  });

  it("an unparseable body (parsePodList error) is a retried kubelet error", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: ["[]", NODE],
    });
    assert.ok((await core.attest(1)).includes("container-name:web"));
    assert.equal(pods.calls.length, 2);
  });

  it("a fetch error with another reason (a contract error) ends the call at once", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [new AttestorError("bad-request", "pod list version 9 was never handed out (latest is 0)")],
    });
    await rejectsWith(core.attest(1), "bad-request", "pod list version 9 was never handed out (latest is 0)");
    assert.equal(pods.calls.length, 1);
  });

  it("the reason decides, never the message: a kubelet error worded like a closed fetcher is retried", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [kubeletError("pod list fetcher is closed"), NODE],
    });
    assert.ok((await core.attest(1)).includes("container-name:web"));
    assert.equal(pods.calls.length, 2);
  });

  for (const reason of ERROR_REASONS) {
    const retried = RETRIED.has(reason);
    it(`a fetch error with reason ${reason} is ${retried ? "retried" : "final"}`, async () => {
      const { core, pods } = fakeCore({
        location: { podUid: WEB_UID, containerId: WEB_CID },
        steps: [new AttestorError(reason, `failed (${reason})`), NODE],
      });
      if (retried) {
        assert.ok((await core.attest(1)).includes("container-name:web"));
        assert.equal(pods.calls.length, 2);
      } else {
        await rejectsWith(core.attest(1), reason, `failed (${reason})`);
        assert.equal(pods.calls.length, 1);
      }
    });
  }

  it("a closed fetcher ends the call at once with its fetcher-closed error", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [new AttestorError("fetcher-closed", "pod list fetcher is closed")],
    });
    await rejectsWith(core.attest(1), "fetcher-closed", "pod list fetcher is closed");
    assert.equal(pods.calls.length, 1);
  });

  it("the real fetcher's closed error is recognised", async () => {
    const fetcher = new PodListFetcher({ logger: nullLogger });
    await fetcher.close();
    const core = createAttestCore({
      locator: new FakeLocator({ podUid: WEB_UID, containerId: WEB_CID }),
      pods: fetcher,
      logger: nullLogger,
      config: { maxPollAttempts: 60, disableContainerSelectors: false },
    });
    await rejectsWith(core.attest(1), "fetcher-closed", "pod list fetcher is closed");
  });

  it("a non-AttestorError from the source is pod-list-failed (retried, then given up)", async () => {
    const { core } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [new TypeError("boom")],
      config: { maxPollAttempts: 2 },
    });
    await rejectsWith(core.attest(1), "pod-list-failed", "boom");
  });
});

describe("attest: cancellation", () => {
  it("abort while waiting for a newer list → cancelled, listeners removed", async () => {
    const { controller, counts } = countingController();
    const signal = controller.signal;

    const { core, pods } = fakeCore({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [NODE, "hang"],
      config: { maxPollAttempts: 60 },
    });
    const done = core.attest(1, signal);
    while (pods.calls.length < 2) await new Promise<void>((r) => queueMicrotask(r));
    assert.equal(pods.pendingListeners, 1);
    controller.abort();
    await rejectsWith(done, "cancelled", "context canceled");
    assert.deepEqual(pods.calls, [0, 1]);
    assert.equal(pods.pendingListeners, 0);
    // The core's own listeners (one per awaited step) are all removed; the fake's `once` listener fired.
    assert.equal(counts.added - 1, counts.removed, `added ${counts.added}, removed ${counts.removed}`);
  });

  it("a timeout reason → deadline-exceeded context deadline exceeded", async () => {
    const controller = new AbortController();
    const { core } = fakeCore({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: ["hang"],
    });
    const done = core.attest(1, controller.signal);
    await Promise.resolve();
    controller.abort(new DOMException("signal timed out", "TimeoutError"));
    await rejectsWith(done, "deadline-exceeded", "context deadline exceeded");
  });

  it("AbortSignal.timeout (a real deadline) → deadline-exceeded", async () => {
    const { core } = fakeCore({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: ["hang"],
    });
    await rejectsWith(
      core.attest(1, AbortSignal.timeout(5)),
      "deadline-exceeded",
      "context deadline exceeded",
    );
  });

  it("abort while locating → cancelled, no kubelet request", async () => {
    const controller = new AbortController();
    const { core, pods } = fakeCore({ location: "hang", steps: [NODE] });
    const done = core.attest(1, controller.signal);
    await Promise.resolve();
    controller.abort();
    await rejectsWith(done, "cancelled", "context canceled");
    assert.deepEqual(pods.calls, []);
  });

  it("an already aborted signal → cancelled before locating", async () => {
    const { core, locator } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [NODE],
    });
    await rejectsWith(core.attest(1, AbortSignal.abort()), "cancelled", "context canceled");
    assert.deepEqual(locator.pids, []);
  });

  it("a source that ignores the signal is abandoned on abort", async () => {
    const controller = new AbortController();
    let release: () => void = () => {};
    const core = createAttestCore({
      locator: new FakeLocator({ podUid: WEB_UID, containerId: WEB_CID }),
      pods: {
        fetchNext: () => new Promise((_res, rej) => (release = () => rej(kubeletError()))),
      },
      logger: nullLogger,
      config: { maxPollAttempts: 3, disableContainerSelectors: false },
    });
    const done = core.attest(1, controller.signal);
    await new Promise<void>((r) => queueMicrotask(r));
    controller.abort();
    await rejectsWith(done, "cancelled", "context canceled");
    release(); // the late rejection must not surface as an unhandled rejection
  });
});

describe("attest: with the real PodListFetcher (fake kubelet bodies)", () => {
  it("finds a container listed only after two refreshes; one kubelet request per attempt", async () => {
    const pending = workerStarted(null);
    const running = workerStarted(PENDING_CID);
    const bodies = [pending, pending, running];
    let requests = 0;
    const fetcher = new PodListFetcher({
      fetchPods: () => Promise.resolve(bodies[Math.min(requests++, bodies.length - 1)]),
      minIntervalMs: 2,
    });
    try {
      const core = createAttestCore({
        locator: new FakeLocator({ podUid: PENDING_UID, containerId: PENDING_CID }),
        pods: fetcher,
        logger: nullLogger,
        config: { maxPollAttempts: 5, disableContainerSelectors: false },
      });
      const result = await core.attestDetailed(1, new AbortController().signal);
      assert.ok(result.selectors.includes("container-name:worker"));
      assert.equal(result.attempts, 3);
      assert.equal(requests, 3);
    } finally {
      await fetcher.close();
    }
  });

  it("never listed → pod-not-listed after exactly max_poll_attempts kubelet requests", async () => {
    let requests = 0;
    const fetcher = new PodListFetcher({
      fetchPods: () => (requests++, Promise.resolve(NODE)),
      minIntervalMs: 1,
    });
    try {
      const core = createAttestCore({
        locator: new FakeLocator({ podUid: PENDING_UID, containerId: PENDING_CID }),
        pods: fetcher,
        logger: nullLogger,
        config: { maxPollAttempts: 4, disableContainerSelectors: false },
      });
      await rejectsWith(core.attest(1), "pod-not-listed", noSelectorsMessage(PENDING_UID, PENDING_CID, 4));
      assert.equal(requests, 4);
    } finally {
      await fetcher.close();
    }
  });

  it("abort while the fetcher waits for its spacing → cancelled, no timer left after close", async () => {
    let requests = 0;
    const fetcher = new PodListFetcher({
      fetchPods: () => (requests++, Promise.resolve(NODE)),
      minIntervalMs: 60_000,
    });
    try {
      const controller = new AbortController();
      const core = createAttestCore({
        locator: new FakeLocator({ podUid: PENDING_UID, containerId: PENDING_CID }),
        pods: fetcher,
        logger: nullLogger,
        config: { maxPollAttempts: 60, disableContainerSelectors: false },
      });
      const done = core.attest(1, controller.signal);
      while (requests < 1) await new Promise<void>((r) => setTimeout(r, 1));
      await new Promise<void>((r) => setTimeout(r, 5)); // now waiting for a list newer than the first
      controller.abort();
      await rejectsWith(done, "cancelled", "context canceled");
      assert.equal(requests, 1);
    } finally {
      await fetcher.close(); // drops the 60 s spacing timer; Deno's sanitizer fails the test if one leaks
    }
  });
});
