/**
 * The projection of one kubelet pod-list item onto {@linkcode PodInfo}: only the fields selectors need, each
 * decoded as Go's JSON decoder would, and a field of the wrong JSON type named in a {@linkcode FieldTypeError}.
 *
 * @module
 */

import type { ContainerStatusInfo, OwnerReferenceInfo, PodInfo } from "../core/types.ts";

/** Thrown inside the projection for a field of the wrong JSON type; becomes an `invalidPods` reason. */
export class FieldTypeError extends Error {}

/** A parsed JSON value, not yet checked. */
export type Json = unknown;

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

/** Whether `value` is a JSON object (not null, not an array). */
export function isObject(value: Json): value is Record<string, Json> {
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
  const object = obj(value, "metadata.labels");
  // for-in with the own-key check: the keys and order of Object.entries, without its array of pairs.
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const v = object[key];
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

/**
 * Projects one item whose `metadata` is an object and whose UID is known into a {@linkcode PodInfo},
 * decoding each used field as Go's JSON decoder would (`null` or absent → the zero value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FieldTypeError, projectPod } from "./pod_projection.ts";
 * const pod = projectPod("u1", { name: "web", labels: { app: "web" } }, {});
 * assert.deepEqual(pod.labels, [["app", "web"]]);
 * assert.throws(() => projectPod("u1", { labels: { app: 7 } }, {}), FieldTypeError);
 * ```
 *
 * @param uid The item's `metadata.uid`.
 * @param metadata The item's `metadata`.
 * @param item The whole item.
 * @returns The projection.
 * @throws {FieldTypeError} Naming the first used field of the wrong JSON type.
 */
export function projectPod(uid: string, metadata: Record<string, Json>, item: Record<string, Json>): PodInfo {
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
