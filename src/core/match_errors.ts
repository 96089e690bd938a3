/**
 * How the attestor core picks among a process's matches in the pod list, and the errors it answers when
 * the list does not allow an identity (ephemeral container, a container listed under another pod, an
 * identity two items claim, an undecodable pod). Messages keep upstream's words where upstream has them.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import type { ContainerMatch, PodListConflict, PodRef } from "./types.ts";

/**
 * The match for one pod among `matches` (all of the same pod): the first regular container, else the first
 * init container (upstream's order), else the first ephemeral one.
 */
export function bestInPod(matches: readonly ContainerMatch[]): ContainerMatch {
  return matches.find((m) => m.kind === "container") ?? matches.find((m) => m.kind === "init") ?? matches[0];
}

/** The error for an ephemeral container (never attested, as upstream). */
export function ephemeralDenied(match: ContainerMatch, containerId: string): AttestorError {
  return new AttestorError(
    "ephemeral-container",
    `ephemeral containers are not attested: container ID ${JSON.stringify(containerId)} is the ephemeral ` +
      `container ${JSON.stringify(match.status.name)} of pod ` +
      `${JSON.stringify(`${match.pod.namespace}/${match.pod.name}`)} (UID ${JSON.stringify(match.pod.uid)})`,
  );
}

/** The error for a container the kubelet lists under another pod than the one its cgroup path names. */
export function ownerMismatch(match: ContainerMatch, podUid: string, containerId: string): AttestorError {
  return new AttestorError(
    "owner-mismatch",
    `container ID ${JSON.stringify(containerId)} is listed by ${describePod(match.pod)}, but the process's ` +
      `cgroup path names pod UID ${JSON.stringify(podUid)}; refusing to attest either`,
  );
}

/** `pod "<ns>/<name>" (UID "<uid>")` for messages. */
export function describePod(pod: PodRef): string {
  return `pod ${JSON.stringify(`${pod.namespace}/${pod.name}`)} (${
    pod.uid === "" ? "no UID" : `UID ${JSON.stringify(pod.uid)}`
  })`;
}

/**
 * The error for an identity two items of the pod list claim: `pod-list-ambiguous` (INTERNAL: the kubelet's
 * list breaks an invariant; upstream uses that code and the same opening words for a container ID under two
 * pods),
 * naming the identity and both items.
 */
export function ambiguityError(conflict: PodListConflict): AttestorError {
  const what = conflict.kind === "pod-uid" ? "pod UID" : "container Id";
  return new AttestorError(
    "pod-list-ambiguous",
    `two pods found with same ${what} ${JSON.stringify(conflict.id)}: ${describePod(conflict.first)} and ` +
      `${describePod(conflict.second)}; refusing to attest either`,
  );
}

/** The error for a pod of the list that cannot be decoded (upstream's words). */
export function decodeError(uid: string, reason: string): AttestorError {
  return new AttestorError(
    "pod-decode-failed",
    `unable to decode pod info from kubelet response: pod ${JSON.stringify(uid)}: ${reason}`,
  );
}
