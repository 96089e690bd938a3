/**
 * Parses a kubelet `GET /pods` body once into the {@linkcode PodListSnapshot} projection: pods indexed by
 * `metadata.uid`, containers indexed by the exact container ID (the URL host of `containerID`), keeping only
 * the fields selectors need.
 *
 * @module
 */

import { AttestorError, errorMessage } from "../errors.ts";
import type {
  ContainerKind,
  ContainerMatch,
  ContainerStatusInfo,
  OwnerReferenceInfo,
  PodInfo,
  PodListConflict,
  PodListSnapshot,
  PodRef,
} from "../core/types.ts";

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

/** Thrown inside the projection for a field of the wrong JSON type; becomes an `invalidPods` reason. */
class FieldTypeError extends Error {}

type Json = unknown;

function jsonType(value: Json): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    default:
      return "an object";
  }
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Go's JSON decoding: `null` or absent leaves the zero value; any other non-string is an error. */
function str(value: Json, path: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") {
    throw new FieldTypeError(`${path}: expected a string, got ${jsonType(value)}`);
  }
  return value;
}

/** An optional object (`null`/absent → empty). */
function obj(value: Json, path: string): Record<string, Json> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new FieldTypeError(`${path}: expected an object, got ${jsonType(value)}`);
  return value;
}

/** An optional array (`null`/absent → empty). */
function arr(value: Json, path: string): readonly Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FieldTypeError(`${path}: expected an array, got ${jsonType(value)}`);
  return value;
}

function fieldPath(base: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function projectLabels(value: Json): (readonly [string, string])[] {
  const labels: (readonly [string, string])[] = [];
  for (const [key, v] of Object.entries(obj(value, "metadata.labels"))) {
    labels.push([key, typeof v === "string" ? v : str(v, fieldPath("metadata.labels", key))]);
  }
  return labels;
}

function projectOwners(value: Json): OwnerReferenceInfo[] {
  return arr(value, "metadata.ownerReferences").map((item, i) => {
    const path = `metadata.ownerReferences[${i}]`;
    const o = obj(item, path);
    return {
      kind: str(o.kind, `${path}.kind`),
      name: str(o.name, `${path}.name`),
      uid: str(o.uid, `${path}.uid`),
    };
  });
}

function projectStatuses(value: Json, path: string): ContainerStatusInfo[] {
  return arr(value, path).map((item, i) => {
    const o = obj(item, `${path}[${i}]`);
    const { name, containerID, image, imageID } = o;
    if (
      typeof name === "string" && typeof containerID === "string" && typeof image === "string" &&
      typeof imageID === "string"
    ) {
      return { name, containerId: containerID, image, imageId: imageID }; // the common case, no paths built
    }
    const p = `${path}[${i}]`;
    return {
      name: str(name, `${p}.name`),
      containerId: str(containerID, `${p}.containerID`),
      image: str(image, `${p}.image`),
      imageId: str(imageID, `${p}.imageID`),
    };
  });
}

/** Projects one item whose `metadata` is an object and whose UID is known; throws FieldTypeError. */
function projectPod(uid: string, metadata: Record<string, Json>, item: Record<string, Json>): PodInfo {
  const spec = obj(item.spec, "spec");
  const status = obj(item.status, "status");
  return {
    uid,
    name: str(metadata.name, "metadata.name"),
    namespace: str(metadata.namespace, "metadata.namespace"),
    labels: projectLabels(metadata.labels),
    ownerReferences: projectOwners(metadata.ownerReferences),
    serviceAccountName: str(spec.serviceAccountName, "spec.serviceAccountName"),
    nodeName: str(spec.nodeName, "spec.nodeName"),
    containerStatuses: projectStatuses(status.containerStatuses, "status.containerStatuses"),
    initContainerStatuses: projectStatuses(status.initContainerStatuses, "status.initContainerStatuses"),
    ephemeralContainerStatuses: projectStatuses(
      status.ephemeralContainerStatuses,
      "status.ephemeralContainerStatuses",
    ),
  };
}

// --- Container ID = URL host, as Go's net/url.Parse computes it -----------------------------------------

const SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
// deno-lint-ignore no-control-regex
const CTL = /[\x00-\x1f\x7f]/;
const VALID_USERINFO = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
/**
 * A host of characters Go's `shouldEscape(c, encodeHost)` accepts unescaped (ASCII), any non-ASCII, and
 * `%XX` escapes; RFC 3986 allows escapes in a host only for non-ASCII bytes (`%80`–`%FF`) and `%25` (IPv6
 * zones), as Go checks.
 */
const VALID_HOST = /^(?:[A-Za-z0-9!$&'()*+,;=:[\]<>"\-_.~\u0080-\uffff]|%[89A-Fa-f][0-9A-Fa-f]|%25)*$/;

/** Go `unescape(host, encodeHost)`; returns null on an error. */
function unescapeHost(host: string): string | null {
  if (!VALID_HOST.test(host)) return null;
  if (!host.includes("%")) return host;
  try {
    return decodeURIComponent(host);
  } catch {
    return null;
  }
}

/**
 * The URL host of a kubelet `containerID` (`<scheme>://[user@]<host>[:port][/path][?query][#fragment]`), as
 * Go's `net/url` computes it: `user@` is dropped, `:port` is kept, the comparison is case-sensitive.
 * Returns `null` when the value has no `scheme://` authority, an empty host, or does not parse (bad scheme,
 * control characters, bad port, bad escapes, invalid userinfo). Bracketed IPv6-literal hosts are never
 * container IDs and also give `null`. Deliberately stricter than Go in one place: a scheme-less `//<id>`
 * (which Go would parse with a host) gives `null`, because the kubelet always reports `<runtime>://<id>`.
 *
 * @example Runtime prefixes are stripped
 * ```ts
 * import assert from "node:assert/strict";
 * import { containerIdFromUrl } from "./pods.ts";
 * assert.equal(containerIdFromUrl("containerd://0123abcd"), "0123abcd");
 * assert.equal(containerIdFromUrl("0123abcd"), null);
 * ```
 *
 * @param raw The `containerID` value.
 * @returns The host, or `null`.
 */
export function containerIdFromUrl(raw: string): string | null {
  if (raw === "" || CTL.test(raw)) return null;
  const hashAt = raw.indexOf("#");
  const beforeFragment = hashAt < 0 ? raw : raw.slice(0, hashAt);
  if (hashAt >= 0 && BAD_ESCAPE.test(raw.slice(hashAt + 1))) return null;

  // Scheme: a letter, then letters, digits, "+", "-", "."; ends at the first ":".
  const colon = beforeFragment.indexOf(":");
  if (colon <= 0 || !SCHEME.test(beforeFragment.slice(0, colon))) return null;
  let rest = beforeFragment.slice(colon + 1);
  const queryAt = rest.indexOf("?");
  if (queryAt >= 0) rest = rest.slice(0, queryAt);
  if (!rest.startsWith("//")) return null; // opaque or path-only: no host

  rest = rest.slice(2);
  const slashAt = rest.indexOf("/");
  const authority = slashAt < 0 ? rest : rest.slice(0, slashAt);
  const path = slashAt < 0 ? "" : rest.slice(slashAt);
  if (BAD_ESCAPE.test(path)) return null;

  let host = authority;
  const atAt = authority.lastIndexOf("@");
  if (atAt >= 0) {
    const userinfo = authority.slice(0, atAt);
    if (!VALID_USERINFO.test(userinfo) || BAD_ESCAPE.test(userinfo)) return null;
    host = authority.slice(atAt + 1);
  }
  if (host.startsWith("[")) return null;
  const portAt = host.lastIndexOf(":");
  if (portAt >= 0 && !/^:[0-9]*$/.test(host.slice(portAt))) return null;
  const decoded = unescapeHost(host);
  return decoded === null || decoded === "" ? null : decoded;
}

// --- The list -------------------------------------------------------------------------------------------

function unavailable(message: string, cause?: unknown): AttestorError {
  return new AttestorError("UNAVAILABLE", message, cause === undefined ? undefined : { cause });
}

function statusLists(pod: PodInfo): readonly [ContainerKind, readonly ContainerStatusInfo[]][] {
  return [
    ["container", pod.containerStatuses],
    ["init", pod.initContainerStatuses],
    ["ephemeral", pod.ephemeralContainerStatuses],
  ];
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
 *   items array` (`items: null` is an empty list). All are `AttestorError` `UNAVAILABLE`.
 * - Items without a non-empty string `metadata.uid` are not indexed and are counted in `skippedWithoutUid`.
 * - An item whose used fields have the wrong JSON type goes into `invalidPods` with a reason naming the
 *   field (e.g. `metadata.labels.app: expected a string, got a number`); the rest of the list is usable.
 * - Containers of `containerStatuses`, `initContainerStatuses` and `ephemeralContainerStatuses` are indexed
 *   by {@linkcode containerIdFromUrl}, in that order per pod; entries without a usable ID are not indexed.
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
 * @throws {AttestorError} `UNAVAILABLE` when the body as a whole is unusable.
 */
export function parsePodList(body: string, version: number): ParsedPodList {
  let root: Json;
  try {
    root = JSON.parse(body);
  } catch (err) {
    const text = errorMessage(err);
    throw unavailable(`unable to parse kubelet response: ${text}`, err);
  }
  if (!isObject(root)) throw unavailable("invalid kubelet response: expected an object");
  const items = root.items;
  if (items !== null && !Array.isArray(items)) {
    throw unavailable("invalid kubelet response: expected an items array");
  }

  const podsByUid = new Map<string, PodInfo>();
  const invalidPods = new Map<string, string>();
  const containersById = new Map<string, ContainerMatch[]>();
  const firstByUid = new Map<string, PodRef>();
  const ambiguousPodUids = new Map<string, PodListConflict>();
  const claims = new Map<string, number>(); // container ID → index of the first item listing it
  const refs: PodRef[] = []; // by item index
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
    const firstRef = refs[first];
    const ref = refs[item];
    // Two items with the same UID: reported as that UID's conflict below.
    if (ref.uid !== "" && ref.uid === firstRef.uid) return;
    ambiguousContainerIds.set(id, { kind: "container-id", id, first: firstRef, second: ref });
  };

  const list: readonly Json[] = items ?? [];
  for (let index = 0; index < list.length; index++) {
    const item = list[index];
    if (!isObject(item)) {
      skippedWithoutUid++;
      continue;
    }
    const metadata = item.metadata;
    const rawUid = isObject(metadata) ? metadata.uid : undefined;
    const uid = typeof rawUid === "string" ? rawUid : "";
    const ref = refOf(metadata, uid);
    refs[index] = ref;
    if (uid === "") skippedWithoutUid++;
    const seen = uid === "" ? undefined : firstByUid.get(uid);
    if (seen !== undefined && !ambiguousPodUids.has(uid)) {
      ambiguousPodUids.set(uid, { kind: "pod-uid", id: uid, first: seen, second: ref });
    }
    if (uid === "" || seen !== undefined) {
      for (const id of rawContainerIds(item)) claim(id, index);
      continue;
    }
    firstByUid.set(uid, ref);

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
    for (const [kind, statuses] of statusLists(pod)) {
      for (const status of statuses) {
        if (status.containerId === "") continue;
        const id = containerIdFromUrl(status.containerId);
        if (id === null) {
          malformedContainerIds++;
          continue;
        }
        const match: ContainerMatch = { pod, status, kind };
        const matches = containersById.get(id);
        if (matches) matches.push(match);
        else containersById.set(id, [match]);
        claim(id, index);
      }
    }
  }

  // A repeated UID taints the UID and every container ID its items list (linear: one look per claim).
  if (ambiguousPodUids.size > 0) {
    for (const [uid] of ambiguousPodUids) {
      podsByUid.delete(uid);
      invalidPods.delete(uid);
    }
    for (const [id, item] of claims) {
      const conflict = ambiguousPodUids.get(refs[item].uid);
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
