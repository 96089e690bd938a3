/**
 * The attestor core never guesses: no match is an error after polling, an identity two items of the pod list
 * claim is refused at once, ephemeral containers are denied, and undecodable pods fail closed.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AttestorError } from "../../src/errors.ts";
import type { ContainerLocation } from "../../src/platform/types.ts";
import { editBody, fakeCore, fixture, rejectsWith } from "./fakes.ts";
import {
  API_UID,
  BACKUP_CID,
  BACKUP_UID,
  CACHE0_UID,
  DUP_CID,
  DUP_MESSAGE,
  EPHEMERAL_CID,
  EXPORTER_CID,
  NODE,
  noSelectorsMessage,
  ODD_CID,
  ODD_UID,
  PENDING_CID,
  PENDING_UID,
  podOf,
  SHELL_CID,
  SHELL_CONTAINER,
  SHELL_UID,
  sorted,
  WEB_CID,
  WEB_UID,
} from "./_node_pods.ts";

describe("attest: no match is never a guess", () => {
  const never: [string, ContainerLocation][] = [
    ["a container ID only listed as a 12-char prefix, longer, upper-case, bare or with a port", {
      podUid: null,
      containerId: ODD_CID,
    }],
    ["the same with the pod UID known", { podUid: ODD_UID, containerId: ODD_CID }],
    ["the locator's ID in another hex case than the list's", {
      podUid: WEB_UID,
      containerId: WEB_CID.toUpperCase(),
    }],
    ["a container ID that is a prefix of a listed one", { podUid: null, containerId: WEB_CID.slice(0, 63) }],
    ["a pod UID that differs only in case", { podUid: WEB_UID.toUpperCase(), containerId: WEB_CID }],
    ["a pending pod whose container has no containerID yet", {
      podUid: PENDING_UID,
      containerId: PENDING_CID,
    }],
  ];
  for (const [name, location] of never) {
    it(`${name} → pod-not-listed after exactly max_poll_attempts fetches`, async () => {
      const { core, pods } = fakeCore({ location, steps: [NODE], config: { maxPollAttempts: 4 } });
      await rejectsWith(
        core.attest(1),
        "pod-not-listed",
        noSelectorsMessage(location.podUid, location.containerId!, 4),
      );
      assert.deepEqual(pods.calls, [0, 1, 2, 3], "each retry asks for a list newer than the last one seen");
    });
  }

  it("duplicated container ID across pods without a pod UID → pod-list-ambiguous at once, naming both", async () => {
    const { core, pods, lines } = fakeCore({
      location: { podUid: null, containerId: DUP_CID },
      steps: [fixture("duplicates.json")],
    });
    await rejectsWith(core.attest(1), "pod-list-ambiguous", DUP_MESSAGE);
    assert.equal(pods.calls.length, 1);
    assert.ok(lines.some((l) => l.level === "warn" && l.message === "Two pods found with same container Id"));
  });

  // Stricter than upstream (issue 9, finding 3): the pod UID from the cgroup path no longer picks one of them.
  it("duplicated container ID with a known pod UID → pod-list-ambiguous at once, naming both", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: CACHE0_UID, containerId: DUP_CID },
      steps: [fixture("duplicates.json")],
    });
    await rejectsWith(core.attest(1), "pod-list-ambiguous", DUP_MESSAGE);
    assert.deepEqual(pods.calls, [0]);
  });

  it("a process outside any container gets no selectors and no kubelet request", async () => {
    const { core, pods } = fakeCore({ location: { podUid: null, containerId: null }, steps: [NODE] });
    assert.deepEqual(await core.attest(1), []);
    assert.deepEqual(pods.calls, []);
  });

  it("a pod UID without a container ID is still not a container", async () => {
    const { core, pods } = fakeCore({ location: { podUid: WEB_UID, containerId: null }, steps: [NODE] });
    assert.deepEqual(await core.attest(1), []);
    assert.deepEqual(pods.calls, []);
  });

  it("locator errors pass through unchanged", async () => {
    const err = new AttestorError("process-gone", "process 99 does not exist: /proc/99/cgroup");
    const { core, pods } = fakeCore({ location: err, steps: [NODE] });
    await assert.rejects(core.attest(99), (e) => e === err);
    assert.deepEqual(pods.calls, []);
  });
});

describe("attest: an identity claimed by two items of the pod list is an error (issue 9, findings 3 and 4)", () => {
  type Item = Record<string, unknown> & {
    metadata: Record<string, unknown>;
    status?: Record<string, unknown>;
  };
  const web = (list: { items: Record<string, unknown>[] }) => podOf(list, WEB_UID) as Item;
  /** NODE plus an "attacker" item: a copy of another pod with `edit` applied. */
  const withItem = (edit: (item: Item) => void, position: "after" | "before" = "after") =>
    editBody(NODE, (list) => {
      const item = structuredClone(podOf(list, SHELL_UID)) as Item;
      item.status = { phase: "Running", containerStatuses: [] }; // claims nothing unless `edit` adds it
      edit(item);
      if (position === "after") list.items.push(item);
      else list.items.unshift(item);
    });
  const claimWebCid =
    (list: "containerStatuses" | "initContainerStatuses" | "ephemeralContainerStatuses") => (item: Item) => {
      item.metadata.name = "attacker";
      item.metadata.uid = "attacker-uid";
      const status = item.status as Record<string, unknown>;
      status[list] = [{ name: "x", containerID: `containerd://${WEB_CID}`, image: "evil:1", imageID: "" }];
    };
  const webCidMessage = (second: string) =>
    `two pods found with same container Id "${WEB_CID}": pod "shop/web-7d9f8b6c5d-x2k4p" (UID "${WEB_UID}") and ` +
    `${second}; refusing to attest either`;
  const ATTACKER = `pod "default/attacker" (UID "attacker-uid")`;

  for (const list of ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"] as const) {
    for (const podUid of [WEB_UID, null]) {
      for (const disableContainerSelectors of [false, true]) {
        it(`container ID also in another pod's ${list} (pod UID ${podUid ? "known" : "unknown"}, disable=${disableContainerSelectors})`, async () => {
          const { core, pods, lines } = fakeCore({
            location: { podUid, containerId: WEB_CID },
            steps: [withItem(claimWebCid(list))],
            config: { disableContainerSelectors },
          });
          await rejectsWith(core.attest(1), "pod-list-ambiguous", webCidMessage(ATTACKER));
          assert.deepEqual(pods.calls, [0], "no polling");
          const warn = lines.find((l) => l.message === "Two pods found with same container Id");
          assert.equal(warn?.fields.container_id, WEB_CID);
        });
      }
    }
  }

  it("the claiming item comes first in the list: still an error, naming it first", async () => {
    const { core } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [withItem(claimWebCid("initContainerStatuses"), "before")],
    });
    await rejectsWith(
      core.attest(1),
      "pod-list-ambiguous",
      `two pods found with same container Id "${WEB_CID}": ${ATTACKER} and pod "shop/web-7d9f8b6c5d-x2k4p" ` +
        `(UID "${WEB_UID}"); refusing to attest either`,
    );
  });

  it("the claiming item has no UID, or could not be decoded: still an error", async () => {
    const noUid = withItem((item) => {
      claimWebCid("containerStatuses")(item);
      delete item.metadata.uid;
    });
    const undecodable = withItem((item) => {
      claimWebCid("initContainerStatuses")(item);
      item.metadata.labels = { app: 7 };
    });
    for (const [body, second] of [[noUid, `pod "default/attacker" (no UID)`], [undecodable, ATTACKER]]) {
      const { core } = fakeCore({ location: { podUid: WEB_UID, containerId: WEB_CID }, steps: [body] });
      await rejectsWith(core.attest(1), "pod-list-ambiguous", webCidMessage(second));
    }
  });

  it("a pod UID listed twice: its processes get an error naming both items, whichever comes first", async () => {
    for (const position of ["after", "before"] as const) {
      const body = withItem((item) => {
        item.metadata.name = "impostor";
        item.metadata.namespace = "evil";
        item.metadata.uid = WEB_UID;
      }, position);
      const pods = [
        `pod "shop/web-7d9f8b6c5d-x2k4p" (UID "${WEB_UID}")`,
        `pod "evil/impostor" (UID "${WEB_UID}")`,
      ];
      if (position === "before") pods.reverse();
      const message = `two pods found with same pod UID "${WEB_UID}": ${pods[0]} and ${
        pods[1]
      }; refusing to attest either`;
      for (
        const location of [{ podUid: WEB_UID, containerId: WEB_CID }, { podUid: null, containerId: WEB_CID }]
      ) {
        for (const disableContainerSelectors of [false, true]) {
          const { core, pods: source, lines } = fakeCore({
            location,
            steps: [body],
            config: { disableContainerSelectors },
          });
          await rejectsWith(core.attest(1), "pod-list-ambiguous", message);
          assert.deepEqual(source.calls, [0], "no polling");
          assert.ok(lines.some((l) => l.message === "Two pods found with same pod UID"));
        }
      }
      // The pod UID alone (a container the kubelet does not list yet) is refused too.
      const { core } = fakeCore({
        location: { podUid: WEB_UID, containerId: PENDING_CID },
        steps: [body],
        config: { disableContainerSelectors: true },
      });
      await rejectsWith(core.attest(1), "pod-list-ambiguous", message);
    }
  });

  it("a pod UID listed twice where one item could not be decoded: the ambiguity, not the decode error", async () => {
    const body = withItem((item) => {
      item.metadata.uid = WEB_UID;
      item.metadata.labels = [];
    });
    const { core } = fakeCore({ location: { podUid: WEB_UID, containerId: WEB_CID }, steps: [body] });
    await rejectsWith(core.attest(1), "pod-list-ambiguous", /^two pods found with same pod UID /);
  });

  it("other pods of the same list are still attested (only the identities involved fail)", async () => {
    const dupUid = withItem((item) => {
      item.metadata.uid = WEB_UID;
    });
    const dupCid = withItem(claimWebCid("containerStatuses"));
    for (const body of [dupUid, dupCid]) {
      const { core } = fakeCore({ location: { podUid: SHELL_UID, containerId: SHELL_CID }, steps: [body] });
      assert.deepEqual(
        await core.attest(1),
        sorted(SHELL_CONTAINER),
      );
      const other = fakeCore({ location: { podUid: BACKUP_UID, containerId: BACKUP_CID }, steps: [body] });
      assert.ok((await other.core.attest(1)).includes(`pod-uid:${BACKUP_UID}`));
    }
  });

  it("a container listed twice within one pod is not ambiguous", async () => {
    const body = editBody(NODE, (list) => {
      const status = web(list).status as { initContainerStatuses: { containerID: string }[] };
      status.initContainerStatuses[0].containerID = `containerd://${WEB_CID}`;
    });
    const { core } = fakeCore({ location: { podUid: WEB_UID, containerId: WEB_CID }, steps: [body] });
    assert.ok((await core.attest(1)).includes(`pod-uid:${WEB_UID}`));
  });
});

describe("attest: a container listed under another pod than its cgroup path names", () => {
  it("owner-mismatch at once for a real container of another pod", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: WEB_UID, containerId: EXPORTER_CID },
      steps: [NODE],
      config: { maxPollAttempts: 4 },
    });
    await assert.rejects(core.attest(1), (err: unknown) => {
      assert.ok(err instanceof AttestorError && err.reason === "owner-mismatch", String(err));
      assert.match(err.message, new RegExp(`^container ID "${EXPORTER_CID}" is listed by pod `));
      return true;
    });
    assert.deepEqual(pods.calls, [0]);
  });

  for (const disableContainerSelectors of [false, true]) {
    it(`owner-mismatch at once, never the path's pod (disable=${disableContainerSelectors})`, async () => {
      // The process sits in API's container but its cgroup path names WEB (e.g. a layout nested by a
      // workload): the kubelet says the container is API's.
      const apiContainer = "c".repeat(64);
      const body = editBody(NODE, (list) => {
        const status = podOf(list, API_UID).status as { containerStatuses: { containerID: string }[] };
        status.containerStatuses[0].containerID = `containerd://${apiContainer}`;
      });
      const { core, pods } = fakeCore({
        location: { podUid: WEB_UID, containerId: apiContainer },
        steps: [body],
        config: { disableContainerSelectors },
      });
      await rejectsWith(
        core.attest(1),
        "owner-mismatch",
        `container ID "${apiContainer}" is listed by pod "shop/api-6f7c9d8b5-qm4zt" (UID "${API_UID}"), but the ` +
          `process's cgroup path names pod UID "${WEB_UID}"; refusing to attest either`,
      );
      assert.deepEqual(pods.calls, [0]);
    });
  }
});

describe("attest: ephemeral containers are denied", () => {
  const message =
    `ephemeral containers are not attested: container ID "${EPHEMERAL_CID}" is the ephemeral container ` +
    `"debugger-kx7pz" of pod "shop/api-6f7c9d8b5-qm4zt" (UID "${API_UID}")`;
  for (const disableContainerSelectors of [false, true]) {
    for (const podUid of [API_UID, null]) {
      it(`ephemeral-container without polling (pod UID ${podUid ? "known" : "unknown"}, disable=${disableContainerSelectors})`, async () => {
        const { core, pods } = fakeCore({
          location: { podUid, containerId: EPHEMERAL_CID },
          steps: [NODE],
          config: { disableContainerSelectors },
        });
        await rejectsWith(core.attest(1), "ephemeral-container", message);
        assert.deepEqual(pods.calls, [0]);
      });
    }
  }

  it("a regular container listed in the same ID as an ephemeral one of the same pod wins", async () => {
    const body = editBody(NODE, (list) => {
      const api = podOf(list, API_UID);
      const status = api.status as { containerStatuses: { containerID: string }[] };
      status.containerStatuses[0].containerID = `containerd://${EPHEMERAL_CID}`;
    });
    const { core } = fakeCore({ location: { podUid: API_UID, containerId: EPHEMERAL_CID }, steps: [body] });
    assert.ok((await core.attest(1)).includes("container-name:api"));
  });
});

describe("attest: undecodable pods fail closed", () => {
  const withBadLabels = (uid: string) =>
    editBody(NODE, (list) => {
      const pod = podOf(list, uid);
      (pod.metadata as Record<string, unknown>).labels = { app: 7 };
    });

  it("the pod named by the cgroup is undecodable → pod-decode-failed at once", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [withBadLabels(WEB_UID)],
    });
    await rejectsWith(
      core.attest(1),
      "pod-decode-failed",
      `unable to decode pod info from kubelet response: pod "${WEB_UID}": metadata.labels.app: expected a string, got a number`,
    );
    assert.equal(pods.calls.length, 1);
  });

  it("another pod is undecodable and the pod UID is known → unaffected", async () => {
    const { core } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [withBadLabels(SHELL_UID)],
    });
    assert.ok((await core.attest(1)).includes("container-name:web"));
  });

  it("any pod is undecodable and the pod UID is unknown → pod-decode-failed", async () => {
    const { core } = fakeCore({
      location: { podUid: null, containerId: WEB_CID },
      steps: [withBadLabels(SHELL_UID)],
    });
    await rejectsWith(
      core.attest(1),
      "pod-decode-failed",
      `unable to decode pod info from kubelet response: pod "${SHELL_UID}": metadata.labels.app: expected a string, got a number`,
    );
  });
});
