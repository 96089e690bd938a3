/**
 * The pod-list parser: body errors, the projection of every used field (Go decoding rules), skipped and
 * undecodable items, and identities claimed by two items.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parsePodList } from "../../src/kubelet/pods.ts";
import { AttestorError } from "../../src/errors.ts";

const CID_A = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961";
const CID_B = "34a2062fd26c805aa8cf814fdfe479322b791f80afb9ea4db02d50375df14b41";
const CID_C = "e1e3b3c2a9f24f0cb7e4a8ad6e3c1f7b0d9a2c4e6f8a1b3c5d7e9f0a2b4c6d8e";

function item(uid: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { metadata: { uid, name: `pod-${String(uid)}`, namespace: "default" }, ...extra };
}

function body(items: unknown): string {
  return JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: {}, items });
}

function assertUnavailable(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AttestorError);
    assert.equal(err.reason, "kubelet-bad-response");
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe("parsePodList: body errors", () => {
  it("rejects a body that is not JSON with the parser error", () => {
    assertUnavailable(() => parsePodList("{not json", 1), /^unable to parse kubelet response: \S/);
    assertUnavailable(() => parsePodList("", 1), /^unable to parse kubelet response: /);
  });

  it("rejects a top level that is not an object", () => {
    for (const b of ["[]", "null", "42", '"x"', "true"]) {
      assertUnavailable(() => parsePodList(b, 1), "invalid kubelet response: expected an object");
    }
  });

  it("rejects missing or non-array items", () => {
    for (const b of ["{}", '{"items":{}}', '{"items":"x"}', '{"items":3}']) {
      assertUnavailable(() => parsePodList(b, 1), "invalid kubelet response: expected an items array");
    }
  });

  it("treats items: null and [] as an empty list", () => {
    for (const b of ['{"items":null}', '{"items":[]}']) {
      const list = parsePodList(b, 7);
      assert.equal(list.version, 7);
      assert.equal(list.podsByUid.size, 0);
      assert.equal(list.containersById.size, 0);
      assert.equal(list.invalidPods.size, 0);
    }
  });
});

describe("parsePodList: items", () => {
  it("projects every used field and keeps the kubelet's order", () => {
    const list = parsePodList(
      body([{
        metadata: {
          uid: "u1",
          name: "web-1",
          namespace: "shop",
          labels: { app: "web", tier: "front" },
          ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5f", uid: "rs-1" }],
          annotations: { ignored: "yes" },
        },
        spec: { serviceAccountName: "web-sa", serviceAccount: "old", nodeName: "node-a", containers: [] },
        status: {
          phase: "Running",
          containerStatuses: [
            {
              name: "app",
              containerID: `containerd://${CID_A}`,
              image: "web:1",
              imageID: "sha256:aa",
              ready: true,
            },
          ],
          initContainerStatuses: [{
            name: "init",
            containerID: `containerd://${CID_B}`,
            image: "i:1",
            imageID: "",
          }],
          ephemeralContainerStatuses: [{
            name: "dbg",
            containerID: `containerd://${CID_C}`,
            image: "busybox",
          }],
        },
      }]),
      3,
    );
    assert.deepEqual(list.podsByUid.get("u1"), {
      uid: "u1",
      name: "web-1",
      namespace: "shop",
      labels: [["app", "web"], ["tier", "front"]],
      ownerReferences: [{ kind: "ReplicaSet", name: "web-5f", uid: "rs-1" }],
      serviceAccountName: "web-sa",
      nodeName: "node-a",
      containerStatuses: [{
        name: "app",
        containerId: `containerd://${CID_A}`,
        image: "web:1",
        imageId: "sha256:aa",
      }],
      initContainerStatuses: [{
        name: "init",
        containerId: `containerd://${CID_B}`,
        image: "i:1",
        imageId: "",
      }],
      ephemeralContainerStatuses: [{
        name: "dbg",
        containerId: `containerd://${CID_C}`,
        image: "busybox",
        imageId: "",
      }],
    });
    assert.deepEqual([...list.containersById.keys()], [CID_A, CID_B, CID_C]);
    assert.deepEqual(list.containersById.get(CID_A)?.map((m) => [m.pod.uid, m.status.name, m.kind]), [
      ["u1", "app", "container"],
    ]);
    assert.equal(list.containersById.get(CID_B)?.[0].kind, "init");
    assert.equal(list.containersById.get(CID_C)?.[0].kind, "ephemeral");
  });

  it("gives absent and null fields their zero values (as Go's decoder)", () => {
    const list = parsePodList(
      body([
        { metadata: { uid: "u1" } },
        {
          metadata: { uid: "u2", name: null, labels: null, ownerReferences: [null] },
          spec: null,
          status: { containerStatuses: null, initContainerStatuses: [null] },
        },
      ]),
      1,
    );
    assert.deepEqual(list.podsByUid.get("u1"), {
      uid: "u1",
      name: "",
      namespace: "",
      labels: [],
      ownerReferences: [],
      serviceAccountName: "",
      nodeName: "",
      containerStatuses: [],
      initContainerStatuses: [],
      ephemeralContainerStatuses: [],
    });
    const u2 = list.podsByUid.get("u2");
    assert.deepEqual(u2?.ownerReferences, [{ kind: "", name: "", uid: "" }]);
    assert.deepEqual(u2?.initContainerStatuses, [{ name: "", containerId: "", image: "", imageId: "" }]);
    assert.equal(list.containersById.size, 0);
  });

  it("skips items without a non-empty string UID and counts them", () => {
    const list = parsePodList(
      body([
        item(""),
        item(12),
        item(null),
        { metadata: {} },
        { metadata: "x" },
        {},
        null,
        "pod",
        [],
        item("ok"),
      ]),
      1,
    );
    assert.deepEqual([...list.podsByUid.keys()], ["ok"]);
    assert.equal(list.skippedWithoutUid, 9);
  });

  // Stricter than upstream (issue 9, finding 4): a repeated UID used to let the later item replace the earlier.
  it("a UID listed twice is in neither index, only in ambiguousPodUids, with both items; so are its containers", () => {
    const list = parsePodList(
      body([
        item("dup", { status: { containerStatuses: [{ name: "old", containerID: `docker://${CID_A}` }] } }),
        item("other", { status: { containerStatuses: [{ name: "c", containerID: `docker://${CID_C}` }] } }),
        {
          metadata: { uid: "dup", name: "impostor", namespace: "evil" },
          status: { initContainerStatuses: [{ name: "new", containerID: `docker://${CID_B}` }] },
        },
        item("dup"),
      ]),
      1,
    );
    assert.deepEqual([...list.podsByUid.keys()], ["other"]);
    assert.equal(list.invalidPods.size, 0);
    const conflict = {
      kind: "pod-uid",
      id: "dup",
      first: { namespace: "default", name: "pod-dup", uid: "dup" },
      second: { namespace: "evil", name: "impostor", uid: "dup" },
    };
    assert.deepEqual([...list.ambiguousPodUids], [["dup", conflict]]);
    assert.deepEqual([...list.containersById.keys()], [CID_C]);
    assert.deepEqual([...list.ambiguousContainerIds], [[CID_A, conflict], [CID_B, conflict]]);
  });

  it("a UID listed twice where one item is undecodable: ambiguous, not invalid, either order", () => {
    const list = parsePodList(
      body([
        item("a", { metadata: { uid: "a", name: 1 } }),
        item("a"),
        item("b"),
        item("b", { metadata: { uid: "b", labels: [] } }),
        item("c"),
      ]),
      1,
    );
    assert.deepEqual([...list.podsByUid.keys()], ["c"]);
    assert.equal(list.invalidPods.size, 0);
    assert.deepEqual([...list.ambiguousPodUids.keys()], ["a", "b"]);
    assert.deepEqual(list.ambiguousPodUids.get("a")?.first, { namespace: "", name: "", uid: "a" });
  });

  it("puts items with wrongly typed used fields into invalidPods, naming the field", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ metadata: { uid: "x", name: 5 } }, "metadata.name: expected a string, got a number"],
      [{ metadata: { uid: "x", namespace: {} } }, "metadata.namespace: expected a string, got an object"],
      [{ metadata: { uid: "x", labels: "app=web" } }, "metadata.labels: expected an object, got a string"],
      [
        { metadata: { uid: "x", labels: { app: 1 } } },
        "metadata.labels.app: expected a string, got a number",
      ],
      [
        { metadata: { uid: "x", labels: { "app.kubernetes.io/name": true } } },
        'metadata.labels["app.kubernetes.io/name"]: expected a string, got a boolean',
      ],
      [
        { metadata: { uid: "x", ownerReferences: {} } },
        "metadata.ownerReferences: expected an array, got an object",
      ],
      [
        { metadata: { uid: "x", ownerReferences: [{ kind: "Job", uid: 3 }] } },
        "metadata.ownerReferences[0].uid: expected a string, got a number",
      ],
      [{ metadata: { uid: "x" }, spec: [] }, "spec: expected an object, got an array"],
      [{ metadata: { uid: "x" }, spec: { nodeName: 1 } }, "spec.nodeName: expected a string, got a number"],
      [
        { metadata: { uid: "x" }, spec: { serviceAccountName: false } },
        "spec.serviceAccountName: expected a string, got a boolean",
      ],
      [{ metadata: { uid: "x" }, status: "Running" }, "status: expected an object, got a string"],
      [
        { metadata: { uid: "x" }, status: { containerStatuses: {} } },
        "status.containerStatuses: expected an array, got an object",
      ],
      [
        { metadata: { uid: "x" }, status: { initContainerStatuses: [{}, { image: 1 }] } },
        "status.initContainerStatuses[1].image: expected a string, got a number",
      ],
      [
        { metadata: { uid: "x" }, status: { ephemeralContainerStatuses: [{ containerID: [] }] } },
        "status.ephemeralContainerStatuses[0].containerID: expected a string, got an array",
      ],
      [
        { metadata: { uid: "x" }, status: { containerStatuses: ["c"] } },
        "status.containerStatuses[0]: expected an object, got a string",
      ],
    ];
    for (const [bad, reason] of cases) {
      const list = parsePodList(
        body([bad, item("good", { status: { containerStatuses: [{ containerID: `cri-o://${CID_A}` }] } })]),
        1,
      );
      assert.deepEqual([...list.invalidPods], [["x", reason]], reason);
      assert.equal(list.podsByUid.has("x"), false);
      assert.deepEqual([...list.podsByUid.keys()], ["good"]);
      assert.equal(list.containersById.get(CID_A)?.[0].pod.uid, "good");
    }
  });

  // Stricter than upstream (issue 9, finding 3): such an ID used to be indexed under both pods.
  it("a container ID listed by two items (any status lists) is only in ambiguousContainerIds", () => {
    const lists = ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"];
    for (const first of lists) {
      for (const second of lists) {
        const list = parsePodList(
          body([
            item("p1", { status: { [first]: [{ name: "c", containerID: `containerd://${CID_A}` }] } }),
            item("p2", {
              status: {
                containerStatuses: [{ name: "own", containerID: `containerd://${CID_B}` }],
                [second === "containerStatuses" ? "initContainerStatuses" : second]: [
                  { name: "c", containerID: `cri-o://user@${CID_A}` },
                ],
              },
            }),
          ]),
          1,
        );
        assert.deepEqual([...list.containersById.keys()], [CID_B], `${first}/${second}`);
        assert.deepEqual(list.ambiguousContainerIds.get(CID_A), {
          kind: "container-id",
          id: CID_A,
          first: { namespace: "default", name: "pod-p1", uid: "p1" },
          second: { namespace: "default", name: "pod-p2", uid: "p2" },
        });
        assert.deepEqual([...list.podsByUid.keys()], ["p1", "p2"], "the pods themselves stay usable");
      }
    }
  });

  it("items without a UID and undecodable items claim their container IDs too (read leniently)", () => {
    const claim = { containerStatuses: [{ name: "c", containerID: `containerd://${CID_A}` }] };
    const claimants: unknown[] = [
      { metadata: { name: "no-uid", namespace: "x" }, status: claim },
      { metadata: { uid: 5 }, status: claim },
      { status: claim },
      item("bad", { metadata: { uid: "bad", labels: 1 }, status: claim }),
      item("bad", {
        spec: [],
        status: { initContainerStatuses: ["junk", { image: 3, containerID: `docker://${CID_A}` }] },
      }),
    ];
    for (const claimant of claimants) {
      for (
        const order of [[claimant, item("good", { status: claim })], [
          item("good", { status: claim }),
          claimant,
        ]]
      ) {
        const list = parsePodList(body(order), 1);
        assert.equal(list.containersById.has(CID_A), false, JSON.stringify(claimant));
        assert.equal(list.ambiguousContainerIds.get(CID_A)?.kind, "container-id", JSON.stringify(claimant));
      }
    }
  });

  it("one item listing an ID in two of its status lists is not ambiguous", () => {
    const container = { name: "c", containerID: `containerd://${CID_A}` };
    const list = parsePodList(
      body([
        item("p", { status: { containerStatuses: [container], ephemeralContainerStatuses: [container] } }),
      ]),
      1,
    );
    assert.deepEqual(list.containersById.get(CID_A)?.map((m) => m.kind), ["container", "ephemeral"]);
    assert.equal(list.ambiguousContainerIds.size, 0);
  });

  it("does not index empty, scheme-less or malformed container IDs, and counts the malformed ones", () => {
    const statuses = [
      { name: "empty", containerID: "" },
      { name: "absent" },
      { name: "bare", containerID: CID_A },
      { name: "badport", containerID: `containerd://${CID_A}:x` },
      { name: "good", containerID: `containerd://${CID_B}` },
    ];
    const list = parsePodList(body([item("p", { status: { containerStatuses: statuses } })]), 1);
    assert.deepEqual([...list.containersById.keys()], [CID_B]);
    assert.equal(list.malformedContainerIds, 2);
  });
});
