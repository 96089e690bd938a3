/**
 * The attestor core's domain types and its pod-list port: the projection of a kubelet `/pods` response that
 * the core works on, and the source it asks for pod lists. The kubelet adapter (`src/kubelet/`) implements
 * them: it parses the JSON once into these shapes, keeping only what selectors need, indexed by pod UID and
 * by container ID. Nothing here imports an adapter.
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

/** One item of the pod list, as errors name it. */
export interface PodRef {
  /** `metadata.namespace` ("" when absent or not a string). */
  readonly namespace: string;
  /** `metadata.name` ("" when absent or not a string). */
  readonly name: string;
  /** `metadata.uid` ("" when the item has none). */
  readonly uid: string;
}

/**
 * Two items of the pod list that claim the same identity, so neither can be trusted with it: a pod UID
 * listed by two items (`"pod-uid"`), or a container ID listed by two items (`"container-id"`, any of the
 * three status lists, in any combination).
 */
export interface PodListConflict {
  /** What is claimed twice. */
  readonly kind: "pod-uid" | "container-id";
  /** The pod UID or container ID claimed twice. */
  readonly id: string;
  /** The first item claiming it, in list order. */
  readonly first: PodRef;
  /** The second item claiming it. */
  readonly second: PodRef;
}

/**
 * One parsed pod list, immutable once built. The parser guarantees that every pod UID and container ID in
 * the indexes below names exactly one item of the list: an identity claimed by two items is only in the
 * `ambiguous…` maps.
 */
export interface PodListSnapshot {
  /** Strictly increasing per fetcher; a caller that did not find its container waits for a newer one. */
  readonly version: number;
  /** Pods by `metadata.uid`. A UID listed by more than one item is not here (see `ambiguousPodUids`). */
  readonly podsByUid: ReadonlyMap<string, PodInfo>;
  /**
   * Containers by the exact container ID, i.e. the host part of the `containerID` URL (`containerd://<id>`
   * → `<id>`). Every entry of one ID belongs to the same pod (one pod may list an ID in more than one
   * status list); an ID listed by more than one item is not here (see `ambiguousContainerIds`).
   */
  readonly containersById: ReadonlyMap<string, readonly ContainerMatch[]>;
  /**
   * Items that could not be projected (a field of the wrong JSON type), by UID, with the reason. The
   * attestor fails closed when it would have to look at one of them.
   */
  readonly invalidPods: ReadonlyMap<string, string>;
  /** Pod UIDs listed by more than one item, with the first two. The attestor refuses these UIDs. */
  readonly ambiguousPodUids: ReadonlyMap<string, PodListConflict>;
  /**
   * Container IDs that cannot be attributed to exactly one item: listed by two items (also items without a
   * UID and items that could not be projected), or listed by an item whose UID is in `ambiguousPodUids`
   * (then the conflict is that UID's). The attestor refuses these container IDs.
   */
  readonly ambiguousContainerIds: ReadonlyMap<string, PodListConflict>;
}

/**
 * The shared pod-list source (the fetcher). `fetchNext(afterVersion)` resolves with a snapshot whose version
 * is greater than `afterVersion`, fetching when needed; concurrent callers share one kubelet request. A
 * closed source rejects every call with reason `fetcher-closed`, which the core does not retry; it retries
 * `kubelet-unreachable`, `kubelet-rejected`, `kubelet-bad-response` and `pod-list-failed`.
 */
export interface PodListSource {
  /**
   * @param afterVersion 0 for "any list"; otherwise the version the caller has already seen.
   * @param signal Abandons the wait for this caller only; the shared request keeps running.
   * @returns A newer snapshot.
   */
  fetchNext(afterVersion: number, signal?: AbortSignal): Promise<PodListSnapshot>;
}

/**
 * The port to image-signature verification (sigstore, `experimental.sigstore`): the core asks it about the
 * matched container when container selectors are enabled, and adds its selector values to the others. The
 * adapter (`src/sigstore/verifier.ts`) owns the skip list, registry, checks and cache; the core knows none
 * of them.
 */
export interface ContainerImageVerifier {
  /**
   * The signature selector values of the container's image (unsorted).
   *
   * @param container The matched container status (`imageId` and `containerId` as the kubelet reports them).
   * @param signal The attestation's cancellation and deadline.
   * @throws {import("../errors.ts").AttestorError} When the image cannot be verified; the attestation fails.
   */
  selectorsFor(container: ContainerStatusInfo, signal?: AbortSignal): Promise<readonly string[]>;
  /**
   * True: asked about the matched container even with `disable_container_selectors` (the top-level
   * `sigstore` block, as upstream v1.15.3). Absent or false: only when container selectors are enabled
   * (`experimental.sigstore`, as upstream v1.9.6).
   */
  readonly askedWithoutContainerSelectors?: boolean;
}
