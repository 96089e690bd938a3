/**
 * The attestor core matching real-shaped pod lists (node_pods.json, blog_list.json): the selectors of every
 * kind of pod and container, found with and without a pod UID, and disable_container_selectors.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ContainerLocation } from "../../src/platform/types.ts";
import { editBody, fakeCore, fixture, rejectsWith } from "./fakes.ts";
import {
  APISERVER_CID,
  BACKUP_CID,
  BACKUP_UID,
  BLOG_CID,
  BLOG_UID,
  EXPORTER_CID,
  EXPORTER_UID,
  FAILED_CID,
  FAILED_UID,
  ISTIO_INIT_CID,
  NODE,
  noSelectorsMessage,
  PENDING_CID,
  PENDING_POD,
  PENDING_UID,
  PROXY_CID,
  PROXY_DIGEST,
  PROXY_IMG,
  SHELL_CID,
  SHELL_CONTAINER,
  SHELL_POD,
  SHELL_UID,
  sorted,
  STATIC_UID,
  WEB_CID,
  WEB_DIGEST,
  WEB_IMG,
  WEB_POD,
  WEB_UID,
} from "./_node_pods.ts";

describe("attest: matching in node_pods.json", () => {
  const cases: [string, ContainerLocation, string[]][] = [
    [
      "regular container of a multi-container ReplicaSet pod",
      { podUid: WEB_UID, containerId: WEB_CID },
      [...WEB_POD, `container-image:${WEB_DIGEST}`, `container-image:${WEB_IMG}`, "container-name:web"],
    ],
    [
      "second container (sidecar) of the same pod",
      { podUid: WEB_UID, containerId: PROXY_CID },
      [
        ...WEB_POD,
        `container-image:${PROXY_DIGEST}`,
        `container-image:${PROXY_IMG}`,
        "container-name:istio-proxy",
      ],
    ],
    [
      "terminated init container",
      { podUid: WEB_UID, containerId: ISTIO_INIT_CID },
      [
        ...WEB_POD,
        `container-image:${PROXY_DIGEST}`,
        `container-image:${PROXY_IMG}`,
        "container-name:istio-init",
      ],
    ],
    [
      "init container found without a pod UID",
      { podUid: null, containerId: ISTIO_INIT_CID },
      [
        ...WEB_POD,
        `container-image:${PROXY_DIGEST}`,
        `container-image:${PROXY_IMG}`,
        "container-name:istio-init",
      ],
    ],
    [
      "DaemonSet pod",
      { podUid: EXPORTER_UID, containerId: EXPORTER_CID },
      [
        "container-image:quay.io/prometheus/node-exporter:v1.8.2",
        "container-image:quay.io/prometheus/node-exporter@sha256:4032c6d5bfd752342c3e631c2f1de93ba6b86c41db6b167b9a35372c139e7706",
        "container-name:node-exporter",
        "node-name:node-a",
        "ns:monitoring",
        "pod-image-count:1",
        "pod-image:quay.io/prometheus/node-exporter:v1.8.2",
        "pod-image:quay.io/prometheus/node-exporter@sha256:4032c6d5bfd752342c3e631c2f1de93ba6b86c41db6b167b9a35372c139e7706",
        "pod-init-image-count:0",
        "pod-label:app.kubernetes.io/name:node-exporter",
        "pod-label:controller-revision-hash:6b9f7c8d4f",
        "pod-label:pod-template-generation:3",
        "pod-name:node-exporter-7bq9d",
        "pod-owner-uid:DaemonSet:e3f1c2b4-5a6d-4e8f-9a0b-1c2d3e4f5a6b",
        "pod-owner:DaemonSet:node-exporter",
        `pod-uid:${EXPORTER_UID}`,
        "sa:node-exporter",
      ],
    ],
    [
      "Job pod that Succeeded (terminated container still matches)",
      { podUid: BACKUP_UID, containerId: BACKUP_CID },
      [
        "container-image:docker.io/library/postgres:16.4",
        "container-image:docker.io/library/postgres@sha256:d0f363f8366fbc3f52d172c6e76bc27151c3d643b870e1062b4e8bfe65baf609",
        "container-name:backup",
        "node-name:node-a",
        "ns:ops",
        "pod-image-count:1",
        "pod-image:docker.io/library/postgres:16.4",
        "pod-image:docker.io/library/postgres@sha256:d0f363f8366fbc3f52d172c6e76bc27151c3d643b870e1062b4e8bfe65baf609",
        "pod-init-image-count:0",
        "pod-label:batch.kubernetes.io/controller-uid:0b6f5b2e-7a4f-4c1e-9d51-3f2d8b6a9c10",
        "pod-label:batch.kubernetes.io/job-name:backup-28461230",
        "pod-label:job-name:backup-28461230",
        "pod-name:backup-28461230-9xk2m",
        "pod-owner-uid:Job:0b6f5b2e-7a4f-4c1e-9d51-3f2d8b6a9c10",
        "pod-owner:Job:backup-28461230",
        `pod-uid:${BACKUP_UID}`,
        "sa:backup",
      ],
    ],
    [
      "Job pod that Failed",
      { podUid: FAILED_UID, containerId: FAILED_CID },
      [
        "container-image:registry.example.com/shop/migrate:1.0.0",
        "container-image:registry.example.com/shop/migrate@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "container-name:migrate",
        "node-name:node-a",
        "ns:shop",
        "pod-image-count:1",
        "pod-image:registry.example.com/shop/migrate:1.0.0",
        "pod-image:registry.example.com/shop/migrate@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "pod-init-image-count:0",
        "pod-label:job-name:migrate-db",
        "pod-name:migrate-db-2jxkc",
        "pod-owner-uid:Job:c4b3a291-8f7e-4d6c-b5a4-93827160f5e4",
        "pod-owner:Job:migrate-db",
        `pod-uid:${FAILED_UID}`,
        "sa:migrate",
      ],
    ],
    [
      "pod without labels, owners, service account or imageID",
      { podUid: SHELL_UID, containerId: SHELL_CID },
      SHELL_CONTAINER,
    ],
  ];
  const STATIC = [
    "container-image:registry.k8s.io/kube-apiserver:v1.31.4",
    "container-image:registry.k8s.io/kube-apiserver@sha256:ace6a943b058439bd6daeb74f152e7c36e6fc0b5e481cdff9364cd6ca0473e5e",
    "container-name:kube-apiserver",
    "node-name:node-a",
    "ns:kube-system",
    "pod-image-count:1",
    "pod-image:registry.k8s.io/kube-apiserver:v1.31.4",
    "pod-image:registry.k8s.io/kube-apiserver@sha256:ace6a943b058439bd6daeb74f152e7c36e6fc0b5e481cdff9364cd6ca0473e5e",
    "pod-init-image-count:0",
    "pod-label:component:kube-apiserver",
    "pod-label:tier:control-plane",
    "pod-name:kube-apiserver-node-a",
    "pod-owner-uid:Node:698c34ce-487c-418a-9aed-d6c1b3cf1057",
    "pod-owner:Node:node-a",
    `pod-uid:${STATIC_UID}`,
    "sa:",
  ];
  cases.push(
    ["static pod found by container ID (new locator: no pod UID)", {
      podUid: null,
      containerId: APISERVER_CID,
    }, STATIC],
    ["static pod by its 32-hex kubelet UID (legacy locator)", {
      podUid: STATIC_UID,
      containerId: APISERVER_CID,
    }, STATIC],
  );

  for (const [name, location, expected] of cases) {
    it(name, async () => {
      const { core, pods, locator } = fakeCore({ location, steps: [NODE] });
      const selectors = await core.attest(4242, new AbortController().signal);
      assert.deepEqual(selectors, sorted(expected));
      assert.deepEqual(selectors, [...new Set(selectors)]);
      assert.deepEqual(pods.calls, [0]);
      assert.deepEqual(locator.pids, [4242, 4242], "located, then re-checked after the match");
    });
  }

  it("reproduces the 18-value worked example end to end (blog_list.json)", async () => {
    const { core } = fakeCore({
      location: { podUid: BLOG_UID, containerId: BLOG_CID },
      steps: [fixture("blog_list.json")],
    });
    const selectors = await core.attest(1);
    assert.equal(selectors.length, 18);
    assert.ok(selectors.includes("container-name:blog"));
    assert.ok(selectors.includes("pod-owner:ReplicationController:blog"));
  });

  it("attestDetailed reports the match", async () => {
    const { core } = fakeCore({ location: { podUid: null, containerId: ISTIO_INIT_CID }, steps: [NODE] });
    const result = await core.attestDetailed(7);
    assert.equal(result.pod?.name, "web-7d9f8b6c5d-x2k4p");
    assert.equal(result.container?.kind, "init");
    assert.equal(result.container?.status.name, "istio-init");
    assert.equal(result.attempts, 1);
    assert.equal(result.podUid, null);
    assert.equal(result.containerId, ISTIO_INIT_CID);
  });
});

describe("attest: disable_container_selectors", () => {
  const disabled = { disableContainerSelectors: true };

  it("container found with a pod UID → pod selectors only", async () => {
    const { core } = fakeCore({
      location: { podUid: WEB_UID, containerId: WEB_CID },
      steps: [NODE],
      config: disabled,
    });
    assert.deepEqual(await core.attest(1), sorted(WEB_POD));
  });

  it("container not listed yet but pod listed → pod selectors at once", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: PENDING_UID, containerId: PENDING_CID },
      steps: [NODE],
      config: disabled,
    });
    const result = await core.attestDetailed(1);
    assert.deepEqual(result.selectors, sorted(PENDING_POD));
    assert.equal(result.container, null);
    assert.deepEqual(pods.calls, [0]);
  });

  it("pod UID known but the container ID belongs to another pod → refused, not the path's pod", async () => {
    const { core } = fakeCore({
      location: { podUid: WEB_UID, containerId: SHELL_CID },
      steps: [NODE],
      config: disabled,
    });
    await assert.rejects(core.attest(1), { reason: "owner-mismatch" });
  });

  it("pod not listed until the third list → polls while the pod is missing", async () => {
    const without = editBody(NODE, (list) => {
      list.items = list.items.filter((p) => (p.metadata as { uid: string }).uid !== SHELL_UID);
    });
    const { core, pods } = fakeCore({
      location: { podUid: SHELL_UID, containerId: SHELL_CID },
      steps: [without, without, NODE],
      config: disabled,
    });
    assert.deepEqual(await core.attest(1), sorted(SHELL_POD));
    assert.deepEqual(pods.calls, [0, 1, 2]);
  });

  it("unknown pod UID → still matched by container ID, pod selectors only", async () => {
    const { core } = fakeCore({
      location: { podUid: null, containerId: WEB_CID },
      steps: [NODE],
      config: disabled,
    });
    assert.deepEqual(await core.attest(1), sorted(WEB_POD));
  });

  it("unknown pod UID and container not listed → keeps polling, then pod-not-listed", async () => {
    const { core, pods } = fakeCore({
      location: { podUid: null, containerId: PENDING_CID },
      steps: [NODE],
      config: { ...disabled, maxPollAttempts: 3 },
    });
    await rejectsWith(core.attest(1), "pod-not-listed", noSelectorsMessage(null, PENDING_CID, 3));
    assert.equal(pods.calls.length, 3);
  });
});
