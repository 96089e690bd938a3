/**
 * Parses a kubelet `GET /pods` body once into the {@linkcode PodListSnapshot} projection: pods indexed by
 * `metadata.uid`, containers indexed by the exact container ID (the URL host of `containerID`), keeping only
 * the fields selectors need.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import type {
  ContainerKind,
  ContainerMatch,
  ContainerStatusInfo,
  OwnerReferenceInfo,
  PodInfo,
  PodListSnapshot,
} from "./types.ts";

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

/**
 * Parses a kubelet `/pods` response body into an immutable snapshot.
 *
 * - Not JSON → `unable to parse kubelet response: <err>`; top level not an object → `invalid kubelet
 *   response: expected an object`; `items` missing or not an array → `invalid kubelet response: expected an
 *   items array` (`items: null` is an empty list). All are `AttestorError` `UNAVAILABLE`.
 * - Items without a non-empty string `metadata.uid` are skipped and counted in `skippedWithoutUid`.
 * - A later item with the same UID replaces the earlier one.
 * - An item whose used fields have the wrong JSON type goes into `invalidPods` with a reason naming the
 *   field (e.g. `metadata.labels.app: expected a string, got a number`); the rest of the list is usable.
 * - Containers of `containerStatuses`, `initContainerStatuses` and `ephemeralContainerStatuses` are indexed
 *   by {@linkcode containerIdFromUrl}, in that order per pod; entries without a usable ID are not indexed.
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
    const text = err instanceof Error ? err.message : String(err);
    throw unavailable(`unable to parse kubelet response: ${text}`, err);
  }
  if (!isObject(root)) throw unavailable("invalid kubelet response: expected an object");
  const items = root.items;
  if (items !== null && !Array.isArray(items)) {
    throw unavailable("invalid kubelet response: expected an items array");
  }

  const podsByUid = new Map<string, PodInfo>();
  const invalidPods = new Map<string, string>();
  let skippedWithoutUid = 0;
  for (const item of items ?? []) {
    const metadata = isObject(item) ? item.metadata : undefined;
    const uid = isObject(metadata) ? metadata.uid : undefined;
    if (!isObject(item) || !isObject(metadata) || typeof uid !== "string" || uid === "") {
      skippedWithoutUid++;
      continue;
    }
    podsByUid.delete(uid);
    invalidPods.delete(uid);
    try {
      podsByUid.set(uid, projectPod(uid, metadata, item));
    } catch (err) {
      if (!(err instanceof FieldTypeError)) throw err;
      invalidPods.set(uid, err.message);
    }
  }

  const containersById = new Map<string, ContainerMatch[]>();
  let malformedContainerIds = 0;
  for (const pod of podsByUid.values()) {
    for (const [kind, statuses] of statusLists(pod)) {
      for (const status of statuses) {
        if (status.containerId === "") continue;
        const id = containerIdFromUrl(status.containerId);
        if (id === null) {
          malformedContainerIds++;
          continue;
        }
        const match: ContainerMatch = { pod, status, kind };
        const list = containersById.get(id);
        if (list) list.push(match);
        else containersById.set(id, [match]);
      }
    }
  }

  return { version, podsByUid, containersById, invalidPods, skippedWithoutUid, malformedContainerIds };
}
