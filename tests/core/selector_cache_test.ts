/**
 * The attestor core computes a pod's selectors once per pod list: every Attest of the same pod (and
 * container) answered from the same snapshot reuses them, a newer snapshot computes them again, and every
 * caller gets its own copy.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAttestCore } from "../../src/core/attest.ts";
import type { PodListSnapshot, PodListSource } from "../../src/core/types.ts";
import { parsePodList } from "../../src/kubelet/pods.ts";
import { nullLogger } from "../../src/log.ts";
import { FakeLocator } from "./fakes.ts";
import { NODE, PROXY_CID, sorted, WEB_CID, WEB_POD, WEB_UID } from "./_node_pods.ts";

/** A parsed node_pods.json whose web pod counts the reads of its service account (one per computation). */
function countedSnapshot(version: number): { snapshot: PodListSnapshot; reads: () => number } {
  const snapshot = parsePodList(NODE, version);
  const pod = snapshot.podsByUid.get(WEB_UID)!;
  const serviceAccountName = pod.serviceAccountName;
  let reads = 0;
  Object.defineProperty(pod, "serviceAccountName", {
    get: () => {
      reads++;
      return serviceAccountName;
    },
  });
  return { snapshot, reads: () => reads };
}

/** A source that answers `current.snapshot` to every call (the fetcher's cached list). */
function sourceOf(current: { snapshot: PodListSnapshot }): PodListSource {
  return { fetchNext: () => Promise.resolve(current.snapshot) };
}

describe("attest: selectors computed once per pod list", () => {
  it("reuses a pod's selectors within one snapshot, recomputes them for a newer one, copies for callers", async () => {
    const first = countedSnapshot(1);
    const current = { snapshot: first.snapshot };
    const locator = new FakeLocator({ podUid: WEB_UID, containerId: WEB_CID });
    const core = createAttestCore({
      locator,
      pods: sourceOf(current),
      logger: nullLogger,
      config: { maxPollAttempts: 1, disableContainerSelectors: false },
    });

    const a = await core.attest(4242);
    const b = await core.attest(4242);
    assert.equal(first.reads(), 1);
    assert.deepEqual(b, a);
    assert.notEqual(b, a);
    a.push("mutated by a caller");
    assert.deepEqual(await core.attest(4242), b);
    assert.ok(a.length > 0 && b.every((s) => a.includes(s)));
    assert.deepEqual(
      sorted(b.filter((s) => !s.startsWith("container-"))),
      sorted(WEB_POD),
    );

    // Another container of the same pod: its own selectors (the pod part computed for it).
    const proxyCore = createAttestCore({
      locator: new FakeLocator({ podUid: WEB_UID, containerId: PROXY_CID }),
      pods: sourceOf(current),
      logger: nullLogger,
      config: { maxPollAttempts: 1, disableContainerSelectors: false },
    });
    assert.ok((await proxyCore.attest(4242)).includes("container-name:istio-proxy"));

    const second = countedSnapshot(2);
    current.snapshot = second.snapshot;
    assert.deepEqual(await core.attest(4242), b);
    assert.deepEqual(await core.attest(4242), b);
    assert.equal(second.reads(), 1);
    assert.equal(first.reads(), 2); // the other core's one computation
  });
});
