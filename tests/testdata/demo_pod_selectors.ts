/**
 * The selectors the demo pod list (`src/demo/pods.ts`) must give, written out by hand rather than computed
 * by the code under test. Shared by the end-to-end tests (TypeScript host and Go host).
 *
 * @module
 */

/**
 * The pod selectors of the `demo/web-7c9d8f6b5-x2x4k` pod, sorted.
 *
 * @param podUid The pod UID the list was built with.
 * @param nodeName The node name the list was built with.
 * @returns 18 values.
 */
export function expectedWebPodSelectors(podUid: string, nodeName: string): string[] {
  return [
    `node-name:${nodeName}`,
    "ns:demo",
    "pod-image-count:2",
    "pod-image:docker.io/envoyproxy/envoy:v1.31.2",
    "pod-image:docker.io/envoyproxy/envoy@sha256:9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9",
    "pod-image:registry.example.com/web/app:1.4.2",
    "pod-image:registry.example.com/web/app@sha256:0c9e1b7a3d5f2e8c4a6b0d9f1e3c5a7b9d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a",
    "pod-init-image-count:1",
    "pod-init-image:registry.example.com/web/migrate:1.4.2",
    "pod-init-image:registry.example.com/web/migrate@sha256:5b3f0c1e9a7d2c4b6e8f0a1c3e5d7b9f1a2c4e6d8b0f2a4c6e8d0b2f4a6c8e0d",
    "pod-label:app:web",
    "pod-label:pod-template-hash:7c9d8f6b5",
    "pod-label:tier:frontend",
    "pod-name:web-7c9d8f6b5-x2x4k",
    "pod-owner-uid:ReplicaSet:6f1c1d3e-0a8b-4b8e-9d0e-3f2a5c7b9e11",
    "pod-owner:ReplicaSet:web-7c9d8f6b5",
    `pod-uid:${podUid}`,
    "sa:web",
  ].sort();
}

/**
 * The selectors of the web pod's `app` container: the pod selectors plus its container selectors, sorted.
 *
 * @param podUid The pod UID the list was built with.
 * @param nodeName The node name the list was built with.
 * @returns 21 values.
 */
export function expectedWebAppSelectors(podUid: string, nodeName: string): string[] {
  return [
    "container-image:registry.example.com/web/app:1.4.2",
    "container-image:registry.example.com/web/app@sha256:0c9e1b7a3d5f2e8c4a6b0d9f1e3c5a7b9d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a",
    "container-name:app",
    ...expectedWebPodSelectors(podUid, nodeName),
  ].sort();
}
