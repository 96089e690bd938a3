/**
 * Test fixture shared by the Windows suites (the core's re-check against the fake OS, and the plugin under
 * Wine): the pod `shop/win-web-0` with one container `web`, and its selectors written out by hand.
 *
 * @module
 */

/** The pod's UID. */
export const WIN_WEB_UID = "0b5c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3";

/** What varies between the suites: the container's runtime ID, its image ID and its state. */
export interface WinWebOptions {
  /** The 64-hex container ID (`containerd://` is prepended). */
  readonly containerId: string;
  /** The image ID the kubelet reports. @default {""} */
  readonly imageId?: string;
  /** When set, the container is reported `running` since this time. */
  readonly startedAt?: string;
}

/** A container status of the pod. */
export interface WinWebContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID: string;
  ready: boolean;
  state?: { running: { startedAt: string } };
}

/** The pod, as the kubelet lists it. */
export interface WinWebPod {
  metadata: { name: string; namespace: string; uid: string; labels: Record<string, string> };
  spec: {
    nodeName: string;
    serviceAccountName: string;
    containers: Array<{ name: string; image: string }>;
  };
  status: { phase: string; containerStatuses: WinWebContainerStatus[] };
}

/**
 * The pod `shop/win-web-0` on `win-node-1`.
 *
 * @param options Container ID, image ID and state.
 * @returns A fresh object (callers may change it).
 */
export function winWebPod(options: WinWebOptions): WinWebPod {
  const status: WinWebContainerStatus = {
    name: "web",
    image: "mcr.example/web:ltsc2022",
    imageID: options.imageId ?? "",
    containerID: `containerd://${options.containerId}`,
    ready: true,
  };
  if (options.startedAt !== undefined) status.state = { running: { startedAt: options.startedAt } };
  return {
    metadata: { name: "win-web-0", namespace: "shop", uid: WIN_WEB_UID, labels: { app: "win-web" } },
    spec: {
      nodeName: "win-node-1",
      serviceAccountName: "win-web",
      containers: [{ name: "web", image: "mcr.example/web:ltsc2022" }],
    },
    status: { phase: "Running", containerStatuses: [status] },
  };
}

/** A pod list of `pods`. */
export function podList(
  ...pods: WinWebPod[]
): { kind: string; apiVersion: string; metadata: object; items: WinWebPod[] } {
  return { kind: "PodList", apiVersion: "v1", metadata: {}, items: pods };
}

/**
 * The selectors of win-web-0's `web` container, written out by hand, sorted.
 *
 * @param imageId The image ID the pod reports. @default {""}
 */
export function winWebSelectors(imageId = ""): string[] {
  return [
    `container-image:${imageId}`,
    "container-image:mcr.example/web:ltsc2022",
    "container-name:web",
    "node-name:win-node-1",
    "ns:shop",
    "pod-image-count:1",
    `pod-image:${imageId}`,
    "pod-image:mcr.example/web:ltsc2022",
    "pod-init-image-count:0",
    "pod-label:app:win-web",
    "pod-name:win-web-0",
    `pod-uid:${WIN_WEB_UID}`,
    "sa:win-web",
  ].sort();
}
