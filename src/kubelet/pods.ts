/**
 * Parses a kubelet `GET /pods` body once into the {@linkcode PodListSnapshot} projection: pods indexed by
 * `metadata.uid`, containers indexed by the exact container ID (the URL host of `containerID`), keeping only
 * the fields selectors need (see `pod_projection.ts`), and every identity two items claim set aside.
 *
 * @module
 */

import { AttestorError, errorMessage } from "../errors.ts";
import type {
  ContainerKind,
  ContainerMatch,
  ContainerStatusInfo,
  PodInfo,
  PodListConflict,
  PodListSnapshot,
  PodRef,
} from "../core/types.ts";
import { containerIdFromUrl } from "./container_id.ts";
import { FieldTypeError, isObject, type Json, projectPod } from "./pod_projection.ts";

/** A parsed pod list plus the counters a caller logs as warnings. */
export interface ParsedPodList extends PodListSnapshot {
  /** Items skipped because `metadata.uid` is missing, empty or not a string (upstream: Warn "Pod has no UID"). */
  readonly skippedWithoutUid: number;
  /**
   * Status entries whose non-empty `containerID` is not a URL with a host (no `scheme://`, a parse error
   * such as a bad port or escape): they are never indexed, so never match (upstream: "Malformed container id").
   */
  readonly malformedContainerIds: number;
}

function badResponse(message: string, cause?: unknown): AttestorError {
  return new AttestorError("kubelet-bad-response", message, cause === undefined ? undefined : { cause });
}

/**
 * A `JSON.parse` error message without the piece of the body the engine quotes (`Unexpected token 'e',
 * "eyJhbGciOi"... is not valid JSON`): a body may echo a credential, and only the client, which knows the
 * secrets, could redact it.
 */
function withoutBodyText(message: string): string {
  return message.replace(
    /^(Unexpected token .{1,4}), ".*"(?:\.\.\.)? is not valid JSON$/s,
    "$1 is not valid JSON",
  );
}

/**
 * Indexes one status list of a projected pod by container ID and claims each ID for item `index`; entries
 * without a container ID are passed over.
 *
 * @returns How many entries had a non-empty container ID that is not a URL with a host (never indexed).
 */
function indexStatuses(
  pod: PodInfo,
  kind: ContainerKind,
  statuses: readonly ContainerStatusInfo[],
  index: number,
  containersById: Map<string, ContainerMatch[]>,
  claim: (id: string, item: number) => void,
): number {
  let malformed = 0;
  for (const status of statuses) {
    if (status.containerId === "") continue;
    const id = containerIdFromUrl(status.containerId);
    if (id === null) {
      malformed++;
      continue;
    }
    const match: ContainerMatch = { pod, status, kind };
    const matches = containersById.get(id);
    if (matches) matches.push(match);
    else containersById.set(id, [match]);
    claim(id, index);
  }
  return malformed;
}

const STATUS_LIST_KEYS = [
  "containerStatuses",
  "initContainerStatuses",
  "ephemeralContainerStatuses",
] as const;

/** How an item names itself in conflict errors (best effort: non-strings become ""). */
function refOf(metadata: Json, uid: string): PodRef {
  const m = isObject(metadata) ? metadata : {};
  return {
    namespace: typeof m.namespace === "string" ? m.namespace : "",
    name: typeof m.name === "string" ? m.name : "",
    uid,
  };
}

/** `metadata.uid` when it is a string, else "" (an item without a usable UID). */
function uidOf(metadata: Json): string {
  const uid = isObject(metadata) ? metadata.uid : undefined;
  return typeof uid === "string" ? uid : "";
}

/**
 * The `containerID` values an item lists, read leniently from the raw JSON (for items that are not projected:
 * no UID, undecodable, or a repeated UID). Wrongly typed parts are passed over: only the claim matters.
 */
function rawContainerIds(item: Record<string, Json>): string[] {
  const status = item.status;
  if (!isObject(status)) return [];
  const ids: string[] = [];
  for (const key of STATUS_LIST_KEYS) {
    const list = status[key];
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      if (!isObject(entry) || typeof entry.containerID !== "string") continue;
      const id = containerIdFromUrl(entry.containerID);
      if (id !== null) ids.push(id);
    }
  }
  return ids;
}

/**
 * Parses a kubelet `/pods` response body into an immutable snapshot, in one pass over the items (linear in
 * the size of the list).
 *
 * - Not JSON → `unable to parse kubelet response: <err>`; top level not an object → `invalid kubelet
 *   response: expected an object`; `items` missing or not an array → `invalid kubelet response: expected an
 *   items array` (`items: null` is an empty list). All are `AttestorError` `kubelet-bad-response`.
 * - Items without a non-empty string `metadata.uid` are not indexed and are counted in `skippedWithoutUid`.
 * - An item whose used fields have the wrong JSON type goes into `invalidPods` with a reason naming the
 *   field (e.g. `metadata.labels.app: expected a string, got a number`); the rest of the list is usable.
 * - Containers of `containerStatuses`, `initContainerStatuses` and `ephemeralContainerStatuses` are indexed
 *   by `containerIdFromUrl` (`container_id.ts`), in that order per pod; entries without a usable ID are not indexed.
 * - **Ambiguity** (a deliberate departure from upstream, where a later duplicate UID silently replaces the
 *   earlier item and a container ID under two pods resolves to whichever the cgroup path names): a pod UID
 *   listed by two items goes into `ambiguousPodUids` and into neither `podsByUid` nor `invalidPods`; a
 *   container ID listed by two items (any status lists; items without a UID and undecodable items count
 *   too, read leniently), or by an item whose UID is repeated, goes into `ambiguousContainerIds` and not
 *   into `containersById`. One item listing an ID in two of its own status lists is not a conflict. Only
 *   the identities involved are affected; the rest of the list stays usable (see `createAttestCore`).
 *
 * @example Parsing a one-pod list
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePodList } from "./pods.ts";
 * const body = JSON.stringify({ items: [{ metadata: { uid: "u1", name: "web" }, status: {
 *   containerStatuses: [{ name: "app", containerID: "containerd://abc", image: "nginx", imageID: "" }],
 * } }] });
 * const list = parsePodList(body, 1);
 * assert.equal(list.podsByUid.get("u1")?.name, "web");
 * assert.equal(list.containersById.get("abc")?.[0].status.name, "app");
 * ```
 *
 * @example A container ID under two pods is refused, not resolved
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePodList } from "./pods.ts";
 * const pod = (uid: string) => ({ metadata: { uid, name: uid, namespace: "ns" }, status: {
 *   containerStatuses: [{ name: "app", containerID: "containerd://abc" }],
 * } });
 * const list = parsePodList(JSON.stringify({ items: [pod("u1"), pod("u2")] }), 1);
 * assert.equal(list.containersById.has("abc"), false);
 * assert.deepEqual(list.ambiguousContainerIds.get("abc")?.second, { namespace: "ns", name: "u2", uid: "u2" });
 * ```
 *
 * @param body The response body.
 * @param version The snapshot version assigned by the fetcher.
 * @returns The snapshot with its warning counters.
 * @throws {AttestorError} `kubelet-bad-response` when the body as a whole is unusable.
 */
export function parsePodList(body: string, version: number): ParsedPodList {
  let root: Json;
  try {
    root = JSON.parse(body);
  } catch (err) {
    // Not passed on as the cause: the engine's message quotes the body, which is not redacted here.
    throw badResponse(`unable to parse kubelet response: ${withoutBodyText(errorMessage(err))}`);
  }
  if (!isObject(root)) throw badResponse("invalid kubelet response: expected an object");
  const items = root.items;
  if (items !== null && !Array.isArray(items)) {
    throw badResponse("invalid kubelet response: expected an items array");
  }

  const podsByUid = new Map<string, PodInfo>();
  const invalidPods = new Map<string, string>();
  const containersById = new Map<string, ContainerMatch[]>();
  const firstByUid = new Map<string, number>(); // UID → index of the first item listing it
  const ambiguousPodUids = new Map<string, PodListConflict>();
  const claims = new Map<string, number>(); // container ID → index of the first item listing it
  const list: readonly Json[] = items ?? [];
  // An item's namespace, name and UID, built only for a conflict (not one object per item: a list of
  // millions of tiny items would cost that many objects more).
  const refAt = (index: number): PodRef => {
    const metadata = (list[index] as Record<string, Json>).metadata;
    return refOf(metadata, uidOf(metadata));
  };
  const ambiguousContainerIds = new Map<string, PodListConflict>();
  let skippedWithoutUid = 0;
  let malformedContainerIds = 0;

  const claim = (id: string, item: number): void => {
    const first = claims.get(id);
    if (first === undefined) {
      claims.set(id, item);
      return;
    }
    if (first === item || ambiguousContainerIds.has(id)) return;
    const firstRef = refAt(first);
    const ref = refAt(item);
    // Two items with the same UID: reported as that UID's conflict below.
    if (ref.uid !== "" && ref.uid === firstRef.uid) return;
    ambiguousContainerIds.set(id, { kind: "container-id", id, first: firstRef, second: ref });
  };

  for (let index = 0; index < list.length; index++) {
    const item = list[index];
    if (!isObject(item)) {
      skippedWithoutUid++;
      continue;
    }
    const metadata = item.metadata;
    const uid = uidOf(metadata);
    if (uid === "") skippedWithoutUid++;
    const seen = uid === "" ? undefined : firstByUid.get(uid);
    if (seen !== undefined && !ambiguousPodUids.has(uid)) {
      ambiguousPodUids.set(uid, { kind: "pod-uid", id: uid, first: refAt(seen), second: refAt(index) });
    }
    if (uid === "" || seen !== undefined) {
      for (const id of rawContainerIds(item)) claim(id, index);
      continue;
    }
    firstByUid.set(uid, index);

    let pod: PodInfo;
    try {
      pod = projectPod(uid, metadata as Record<string, Json>, item);
    } catch (err) {
      if (!(err instanceof FieldTypeError)) throw err;
      invalidPods.set(uid, err.message);
      for (const id of rawContainerIds(item)) claim(id, index);
      continue;
    }
    podsByUid.set(uid, pod);
    // The three status lists in this order, without an array per pod.
    malformedContainerIds +=
      indexStatuses(pod, "container", pod.containerStatuses, index, containersById, claim) +
      indexStatuses(pod, "init", pod.initContainerStatuses, index, containersById, claim) +
      indexStatuses(pod, "ephemeral", pod.ephemeralContainerStatuses, index, containersById, claim);
  }

  // A repeated UID taints the UID and every container ID its items list (linear: one look per claim).
  if (ambiguousPodUids.size > 0) {
    for (const [uid] of ambiguousPodUids) {
      podsByUid.delete(uid);
      invalidPods.delete(uid);
    }
    for (const [id, item] of claims) {
      const conflict = ambiguousPodUids.get(uidOf((list[item] as Record<string, Json>).metadata));
      if (conflict !== undefined && !ambiguousContainerIds.has(id)) ambiguousContainerIds.set(id, conflict);
    }
  }
  for (const [id] of ambiguousContainerIds) containersById.delete(id);

  return {
    version,
    podsByUid,
    containersById,
    invalidPods,
    ambiguousPodUids,
    ambiguousContainerIds,
    skippedWithoutUid,
    malformedContainerIds,
  };
}
