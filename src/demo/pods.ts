/**
 * The demo's pod list: a small, realistic kubelet `/pods` response for one node, in which the demo's
 * workload process is the `app` container of a Deployment-owned pod.
 *
 * @module
 */

/** The identity the demo workload gets in the pod list. */
export interface DemoWorkload {
  /** The pod UID (dashed), as the cgroup path names it. */
  readonly podUid: string;
  /** The 64-hex container ID, as the cgroup path names it. */
  readonly containerId: string;
  /** The node name. */
  readonly nodeName: string;
}

function hex(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(n / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, n);
}

/** @returns A random 64-hex container ID. */
export function randomContainerId(): string {
  return hex(64);
}

function status(name: string, image: string, digest: string, containerId: string) {
  return {
    name,
    state: { running: { startedAt: "2026-11-27T01:00:00Z" } },
    ready: true,
    restartCount: 0,
    image,
    imageID: `${image.split(":")[0]}@sha256:${digest}`,
    containerID: `containerd://${containerId}`,
    started: true,
  };
}

/**
 * Builds the pod list: the workload's pod (`demo/web-7c9d8f6b5-x2x4k`, two containers and an init
 * container, owned by a ReplicaSet) plus two unrelated pods on the same node.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { demoPodList, randomContainerId } from "./pods.ts";
 * const list = demoPodList({ podUid: crypto.randomUUID(), containerId: randomContainerId(), nodeName: "node-1" });
 * assert.equal(list.items.length, 3);
 * ```
 *
 * @param workload The pod UID and container ID of the demo process.
 * @returns A `PodList` object.
 */
export function demoPodList(workload: DemoWorkload): { kind: string; apiVersion: string; items: unknown[] } {
  const { podUid, containerId, nodeName } = workload;
  const web = {
    metadata: {
      name: "web-7c9d8f6b5-x2x4k",
      generateName: "web-7c9d8f6b5-",
      namespace: "demo",
      uid: podUid,
      labels: { app: "web", "pod-template-hash": "7c9d8f6b5", tier: "frontend" },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web-7c9d8f6b5",
        uid: "6f1c1d3e-0a8b-4b8e-9d0e-3f2a5c7b9e11",
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    spec: {
      serviceAccountName: "web",
      nodeName,
      initContainers: [{ name: "migrate", image: "registry.example.com/web/migrate:1.4.2" }],
      containers: [
        { name: "app", image: "registry.example.com/web/app:1.4.2" },
        { name: "envoy", image: "docker.io/envoyproxy/envoy:v1.31.2" },
      ],
    },
    status: {
      phase: "Running",
      podIP: "10.244.1.17",
      initContainerStatuses: [{
        ...status(
          "migrate",
          "registry.example.com/web/migrate:1.4.2",
          "5b3f0c1e9a7d2c4b6e8f0a1c3e5d7b9f1a2c4e6d8b0f2a4c6e8d0b2f4a6c8e0d",
          randomContainerId(),
        ),
        state: { terminated: { exitCode: 0, reason: "Completed" } },
        ready: false,
      }],
      containerStatuses: [
        status(
          "app",
          "registry.example.com/web/app:1.4.2",
          "0c9e1b7a3d5f2e8c4a6b0d9f1e3c5a7b9d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a",
          containerId,
        ),
        status(
          "envoy",
          "docker.io/envoyproxy/envoy:v1.31.2",
          "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9",
          randomContainerId(),
        ),
      ],
    },
  };
  const dns = {
    metadata: {
      name: "coredns-5d78c9869d-8qz7m",
      namespace: "kube-system",
      uid: crypto.randomUUID(),
      labels: { "k8s-app": "kube-dns" },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "coredns-5d78c9869d",
        uid: crypto.randomUUID(),
      }],
    },
    spec: { serviceAccountName: "coredns", nodeName },
    status: {
      phase: "Running",
      containerStatuses: [
        status(
          "coredns",
          "registry.k8s.io/coredns/coredns:v1.11.3",
          "1e2d3c4b5a69788796a5b4c3d2e1f0011e2d3c4b5a69788796a5b4c3d2e1f001",
          randomContainerId(),
        ),
      ],
    },
  };
  const spireAgent = {
    metadata: {
      name: "spire-agent-h7k2p",
      namespace: "spire",
      uid: crypto.randomUUID(),
      labels: { app: "spire-agent" },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        name: "spire-agent",
        uid: crypto.randomUUID(),
      }],
    },
    spec: { serviceAccountName: "spire-agent", nodeName },
    status: {
      phase: "Running",
      containerStatuses: [
        status(
          "spire-agent",
          "ghcr.io/spiffe/spire-agent:1.15.3",
          "7f6e5d4c3b2a19080f1e2d3c4b5a69787f6e5d4c3b2a19080f1e2d3c4b5a6978",
          randomContainerId(),
        ),
      ],
    },
  };
  return { kind: "PodList", apiVersion: "v1", items: [dns, web, spireAgent] };
}
