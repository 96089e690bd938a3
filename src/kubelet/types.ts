/**
 * The projection of a kubelet `/pods` response that the attestor works on. The kubelet client parses the
 * JSON once into these shapes, keeping only what selectors need, indexed by pod UID and by container ID.
 *
 * @module
 */

/** One entry of `containerStatuses`, `initContainerStatuses` or `ephemeralContainerStatuses`. */
export interface ContainerStatusInfo {
  /** `name`. */
  readonly name: string;
  /** `containerID` as the kubelet reports it, runtime scheme included (`containerd://<id>`), or "". */
  readonly containerId: string;
  /** `image`. */
  readonly image: string;
  /** `imageID`. */
  readonly imageId: string;
}

/** One `metadata.ownerReferences` entry. */
export interface OwnerReferenceInfo {
  /** `kind`. */
  readonly kind: string;
  /** `name`. */
  readonly name: string;
  /** `uid`. */
  readonly uid: string;
}

/** The projected pod. Arrays keep the kubelet's order. */
export interface PodInfo {
  /** `metadata.uid`. */
  readonly uid: string;
  /** `metadata.name`. */
  readonly name: string;
  /** `metadata.namespace`. */
  readonly namespace: string;
  /** `metadata.labels` as [key, value] pairs. */
  readonly labels: readonly (readonly [string, string])[];
  /** `metadata.ownerReferences`. */
  readonly ownerReferences: readonly OwnerReferenceInfo[];
  /** `spec.serviceAccountName`. */
  readonly serviceAccountName: string;
  /** `spec.nodeName`. */
  readonly nodeName: string;
  /** `status.containerStatuses`. */
  readonly containerStatuses: readonly ContainerStatusInfo[];
  /** `status.initContainerStatuses`. */
  readonly initContainerStatuses: readonly ContainerStatusInfo[];
  /** `status.ephemeralContainerStatuses`. */
  readonly ephemeralContainerStatuses: readonly ContainerStatusInfo[];
}

/** Which status list a container was found in. */
export type ContainerKind = "container" | "init" | "ephemeral";

/** A container found by ID: the pod, the status entry and which list it came from. */
export interface ContainerMatch {
  /** The pod holding the container. */
  readonly pod: PodInfo;
  /** The matching status entry. */
  readonly status: ContainerStatusInfo;
  /** The list the status came from. */
  readonly kind: ContainerKind;
}

/** One parsed pod list, immutable once built. */
export interface PodListSnapshot {
  /** Strictly increasing per fetcher; a caller that did not find its container waits for a newer one. */
  readonly version: number;
  /** Pods by `metadata.uid` (a later duplicate UID replaces an earlier one, as upstream). */
  readonly podsByUid: ReadonlyMap<string, PodInfo>;
  /**
   * Containers by the exact container ID, i.e. the host part of the `containerID` URL (`containerd://<id>`
   * → `<id>`). An ID held by several pods has several entries.
   */
  readonly containersById: ReadonlyMap<string, readonly ContainerMatch[]>;
  /**
   * Items that could not be projected (a field of the wrong JSON type), by UID, with the reason. The
   * attestor fails closed when it would have to look at one of them.
   */
  readonly invalidPods: ReadonlyMap<string, string>;
}

/**
 * The shared pod-list source (the fetcher). `fetchNext(afterVersion)` resolves with a snapshot whose version
 * is greater than `afterVersion`, fetching when needed; concurrent callers share one kubelet request.
 */
export interface PodListSource {
  /**
   * @param afterVersion 0 for "any list"; otherwise the version the caller has already seen.
   * @param signal Abandons the wait for this caller only; the shared request keeps running.
   * @returns A newer snapshot.
   */
  fetchNext(afterVersion: number, signal?: AbortSignal): Promise<PodListSnapshot>;
}
