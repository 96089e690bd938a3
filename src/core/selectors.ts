/**
 * Selector values for a pod and a container (the agent adds the `k8s:` type), as SPIRE's `k8s`
 * WorkloadAttestor defines them. Output is de-duplicated and sorted in byte (code point) order, so the same
 * pod always gives the same list.
 *
 * @module
 */

import type { ContainerStatusInfo, PodInfo } from "./types.ts";

/**
 * Compares two strings by Unicode code point, which is the byte order of their UTF-8 encodings (the order
 * Go's `sort.Strings` gives). Plain `<` on JS strings compares UTF-16 code units and differs for characters
 * above U+FFFF.
 *
 * @param a First string.
 * @param b Second string.
 * @returns Negative, zero or positive.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800–U+DFFF) encode code points above U+FFFF, which sort after every BMP character.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * De-duplicates and sorts selector values in byte order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sortSelectors } from "./selectors.ts";
 * assert.deepEqual(sortSelectors(["ns:b", "ns:a", "ns:b"]), ["ns:a", "ns:b"]);
 * ```
 *
 * @param values Selector values in any order, possibly repeated.
 * @returns A new sorted array without duplicates.
 */
export function sortSelectors(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareCodePoints);
}

function imageValues(statuses: readonly ContainerStatusInfo[]): Set<string> {
  const images = new Set<string>();
  for (const status of statuses) {
    images.add(status.imageId);
    images.add(status.image);
  }
  return images;
}

/**
 * The pod selector values of §4.1 (groups 1–11), unsorted: `sa:`, `ns:`, `node-name:`, `pod-uid:`,
 * `pod-name:`, `pod-image-count:` (number of container statuses), `pod-init-image-count:`, `pod-image:` and
 * `pod-init-image:` (each distinct `imageID` and `image`), `pod-label:<k>:<v>`, and per owner reference
 * `pod-owner:<Kind>:<name>` and `pod-owner-uid:<Kind>:<uid>`. Empty values are emitted (`sa:`, bare
 * `pod-image:`); nothing is escaped.
 *
 * @param pod The projected pod.
 * @returns The values in catalogue order (not de-duplicated).
 */
export function podSelectorValues(pod: PodInfo): string[] {
  const values = [
    `sa:${pod.serviceAccountName}`,
    `ns:${pod.namespace}`,
    `node-name:${pod.nodeName}`,
    `pod-uid:${pod.uid}`,
    `pod-name:${pod.name}`,
    `pod-image-count:${pod.containerStatuses.length}`,
    `pod-init-image-count:${pod.initContainerStatuses.length}`,
  ];
  for (const image of imageValues(pod.containerStatuses)) values.push(`pod-image:${image}`);
  for (const image of imageValues(pod.initContainerStatuses)) values.push(`pod-init-image:${image}`);
  for (const [key, value] of pod.labels) values.push(`pod-label:${key}:${value}`);
  for (const owner of pod.ownerReferences) {
    values.push(`pod-owner:${owner.kind}:${owner.name}`, `pod-owner-uid:${owner.kind}:${owner.uid}`);
  }
  return values;
}

/**
 * The container selector values of §4.1 (groups 12–13), unsorted: `container-name:<name>` and
 * `container-image:<v>` for each distinct `imageID` and `image` of the status.
 *
 * @param status The matched container status (regular or init).
 * @returns The values.
 */
export function containerSelectorValues(status: ContainerStatusInfo): string[] {
  const values = [`container-name:${status.name}`];
  for (const image of imageValues([status])) values.push(`container-image:${image}`);
  return values;
}

/**
 * The sorted, de-duplicated selector values for a pod, plus the container selectors when a container
 * status is given.
 *
 * @example The `blog` container of a pod
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildSelectors } from "./selectors.ts";
 * const status = { name: "blog", containerId: "docker://1", image: "blog:1", imageId: "" };
 * const pod = {
 *   uid: "u1", name: "blog-1", namespace: "default", labels: [["app", "blog"]] as const, ownerReferences: [],
 *   serviceAccountName: "default", nodeName: "n1", containerStatuses: [status], initContainerStatuses: [],
 *   ephemeralContainerStatuses: [],
 * };
 * assert.ok(buildSelectors(pod, status).includes("container-name:blog"));
 * assert.ok(!buildSelectors(pod, null).includes("container-name:blog"));
 * assert.ok(buildSelectors(pod, null).includes("pod-label:app:blog"));
 * ```
 *
 * @param pod The projected pod.
 * @param container The matched container status, or `null` for pod selectors only.
 * @returns Sorted unique selector values.
 */
export function buildSelectors(pod: PodInfo, container: ContainerStatusInfo | null): string[] {
  const values = podSelectorValues(pod);
  if (container) values.push(...containerSelectorValues(container));
  return sortSelectors(values);
}
