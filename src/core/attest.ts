/**
 * The attestor core: PID → (pod UID, container ID) → the pod and container in the kubelet's pod list →
 * selector values. Platform-independent: it sees the system only through a {@linkcode ContainerLocator} and
 * a {@linkcode PodListSource}, and owns no timers (the fetcher spaces the attempts).
 *
 * @module
 */

import { AttestorError, type ErrorReason, toAttestorError } from "../errors.ts";
import { abortError, raceAbort } from "./abort.ts";
import type { Config } from "../config/types.ts";
import type {
  ContainerImageVerifier,
  ContainerMatch,
  ContainerStatusInfo,
  PodInfo,
  PodListSnapshot,
  PodListSource,
} from "./types.ts";
import type { Logger } from "../log.ts";
import type { ContainerLocator } from "./locator_port.ts";
import { confirmSameProcess } from "./recheck.ts";
import {
  ambiguityError,
  bestInPod,
  decodeError,
  describePod,
  ephemeralDenied,
  ownerMismatch,
} from "./match_errors.ts";
import { buildSelectors, sortSelectors } from "./selectors.ts";

/** The configuration the core reads. */
export type AttestCoreConfig = Pick<Config, "maxPollAttempts" | "disableContainerSelectors">;

/** What {@linkcode createAttestCore} needs. */
export interface AttestCoreDeps {
  /** Turns a PID into (pod UID, container ID). */
  readonly locator: ContainerLocator;
  /** The shared, versioned pod-list fetcher. */
  readonly pods: PodListSource;
  /** Where retry and give-up diagnostics go. */
  readonly logger: Logger;
  /** `max_poll_attempts` and `disable_container_selectors`. */
  readonly config: AttestCoreConfig;
  /**
   * Image-signature verification (`experimental.sigstore`), or null/absent when not configured. Asked only
   * for a matched container and only when container selectors are enabled (upstream v1.9.6).
   */
  readonly imageVerifier?: ContainerImageVerifier | null;
}

/** What a successful match looked like, for callers that explain the pipeline (the CLI). */
export interface AttestResult {
  /** Sorted unique selector values. */
  readonly selectors: string[];
  /** The locator's answer. */
  readonly podUid: string | null;
  /** The locator's container ID; `null` when the process is not in a container (no selectors). */
  readonly containerId: string | null;
  /** The matched pod, or `null` when not in a container. */
  readonly pod: PodInfo | null;
  /**
   * The matched container and its list, or `null` when not in a container or when
   * `disable_container_selectors` matched the pod before its container was listed.
   */
  readonly container: ContainerMatch | null;
  /** How many pod lists were examined (1-based). 0 when not in a container. */
  readonly attempts: number;
}

/** The attestor core. */
export interface AttestCore {
  /**
   * Attests `pid`: the selector values, sorted and de-duplicated; `[]` when the process is not in a container.
   *
   * @param pid The process ID.
   * @param signal The call's cancellation and deadline.
   * @throws {AttestorError} See {@linkcode createAttestCore}.
   */
  attest(pid: number, signal?: AbortSignal): Promise<string[]>;
  /** As {@linkcode AttestCore.attest}, with the locator result and the matched pod and container. */
  attestDetailed(pid: number, signal?: AbortSignal): Promise<AttestResult>;
}

/** The outcome of looking at one snapshot. */
type Lookup =
  | { readonly found: true; readonly pod: PodInfo; readonly container: ContainerMatch | null }
  | { readonly found: false };

const NOT_FOUND: Lookup = { found: false };

/**
 * The pod-list errors that are worth another attempt: the kubelet was unreachable, refused the request or
 * sent a list that cannot be used, or the source failed in an unknown way. Anything else from the source
 * (`fetcher-closed`, a `bad-request` version, an abort) ends the call.
 */
const RETRIED_FETCH_REASONS: ReadonlySet<ErrorReason> = new Set<ErrorReason>([
  "kubelet-unreachable",
  "kubelet-rejected",
  "kubelet-bad-response",
  "pod-list-failed",
]);

/**
 * Creates the attestor core.
 *
 * Flow: locate the PID (no container ID → `[]`, success); then, up to `maxPollAttempts` times, take a pod list
 * newer than the last one seen (`fetchNext(afterVersion)`; the fetcher spaces the requests by
 * `poll_retry_interval`) and look for the pod and container:
 *
 * - **Ambiguity is an error**, checked first on every list: when the located pod UID is listed by two items,
 *   or the located container ID is listed by two items (any status lists, also an item without a UID or one
 *   that could not be decoded, or an item whose UID is repeated), the call fails at once with
 *   `pod-list-ambiguous "two pods found with same pod UID|container Id "<id>": pod "<ns>/<name>" (UID
 *   "<uid>") and pod …; refusing to attest either"`, naming both items, whether the pod UID is known or not and also under
 *   `disableContainerSelectors`. Upstream returns the pod the cgroup path names when the ID is under two
 *   pods, and lets a later duplicate UID replace the earlier item; either way one item of a list that
 *   contradicts itself would decide an identity. Only the identities involved fail (fail closed for them,
 *   also for a legitimate process of the pod named twice): processes of other pods are still attested
 *   from the same list, so one bad item cannot deny attestation to the whole node.
 * - **Pod UID known** (from the cgroup path): only the pod with exactly that `metadata.uid` is examined; the
 *   container must be in *that* pod (exact container ID, `containerStatuses` first, then
 *   `initContainerStatuses`). A container ID the list holds under *another* pod fails at once with
 *   `owner-mismatch "container ID … is listed by pod …, but the process's cgroup path names pod UID …"`
 *   (upstream polls, and with `disableContainerSelectors` hands out the path's pod).
 * - **Pod UID unknown** (static pods under the new locator, cri-o, Windows): the one pod holding the exact
 *   container ID.
 * - A pod that has to be examined but could not be decoded (see `invalidPods`; without a pod UID that is every
 *   pod) → `pod-decode-failed "unable to decode pod info from kubelet response: pod "<uid>": <reason>"` at
 *   once.
 * - Found → the process is located again and must be unchanged (same start time, pod UID and container ID;
 *   see {@linkcode confirmSameProcess}: `process-gone` when it exited, `process-changed` when it moved or
 *   its PID now belongs to another process); then pod selectors plus container selectors (pod selectors
 *   only with `disableContainerSelectors`).
 * - Image signatures (when an `imageVerifier` is given): for a matched container, only when container
 *   selectors are enabled for `experimental.sigstore` (as upstream v1.9.6), in any case for a verifier
 *   with `askedWithoutContainerSelectors` (the top-level `sigstore` block, as upstream v1.15.3), the
 *   verifier's selector values are
 *   added and sorted with the others, before the re-check; its error fails the attestation (an error of
 *   unknown kind becomes `internal`).
 * - `disableContainerSelectors` with a known pod UID: the pod's selectors as soon as the pod is listed, even
 *   before its container is (upstream's postStart/Istio workaround).
 * - Not found → retry with a newer list. A failed fetch is retried too when its reason is
 *   `kubelet-unreachable`, `kubelet-rejected`, `kubelet-bad-response` or `pod-list-failed`; after the last
 *   attempt that error is thrown, else `pod-not-listed "no selectors found after max poll attempts (pod UID
 *   "<uid>", container ID "<cid>", <n> attempts)"`. A closed fetcher (`fetcher-closed "pod list fetcher is
 *   closed"`) and fetch errors with any other reason end the call at once.
 * - The signal is honoured while locating and while waiting for a list: `cancelled "context canceled"`, or
 *   `deadline-exceeded "context deadline exceeded"` for a timeout (see {@linkcode abortError}).
 * - Pod phase and readiness are not looked at (as upstream): pending, succeeded and failed pods match when
 *   the kubelet lists a matching container ID.
 *
 * **Ephemeral containers** (a deliberate departure from upstream, which never searches
 * `ephemeralContainerStatuses`, so a `kubectl debug` container polls for ~30 s and then fails, or, with
 * `disable_container_selectors`, silently receives the pod's identity): a container ID found only in a pod's
 * `ephemeralContainerStatuses` fails at once with `ephemeral-container "ephemeral containers are not
 * attested: …"`, naming the pod and container, also under `disableContainerSelectors`. An ephemeral container is
 * injected into a running pod by whoever may patch `pods/ephemeralcontainers`, with any image and command;
 * giving it the workload's identity would let a debugging session impersonate the workload, and denying it
 * is the fail-closed choice. Failing fast (instead of polling to a timeout) tells the operator why. The one
 * case this cannot catch is `disableContainerSelectors` with a known pod UID *before* the kubelet lists the
 * ephemeral container's status: the pod is then matched by UID alone, exactly as upstream does.
 *
 * @example With fakes
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAttestCore } from "./attest.ts";
 * import { nullLogger } from "../log.ts";
 * const core = createAttestCore({
 *   locator: { locate: () => Promise.resolve({ podUid: null, containerId: null }) },
 *   pods: { fetchNext: () => Promise.reject(new Error("not called")) },
 *   logger: nullLogger,
 *   config: { maxPollAttempts: 60, disableContainerSelectors: false },
 * });
 * assert.deepEqual(await core.attest(1), []); // not in a container
 * ```
 *
 * @param deps The locator, the pod-list source, a logger and the configuration.
 * @returns The core.
 */
export function createAttestCore(deps: AttestCoreDeps): AttestCore {
  const { locator, pods, logger, config } = deps;
  const imageVerifier = deps.imageVerifier ?? null;
  const maxAttempts = Math.max(1, Math.floor(config.maxPollAttempts));
  const disableContainerSelectors = config.disableContainerSelectors;

  /**
   * The selectors computed per pod of a pod list, and per container (`null`: pod selectors only). A
   * snapshot's pods never change, so one computation serves every Attest of that pod until a newer list
   * replaces it; keyed weakly by the pod object, so the entries go with their pod list. Callers get a copy.
   */
  const selectorCache = new WeakMap<PodInfo, Map<ContainerStatusInfo | null, readonly string[]>>();
  function selectorsFor(pod: PodInfo, status: ContainerStatusInfo | null): string[] {
    let byContainer = selectorCache.get(pod);
    if (byContainer === undefined) selectorCache.set(pod, byContainer = new Map());
    let selectors = byContainer.get(status);
    if (selectors === undefined) byContainer.set(status, selectors = buildSelectors(pod, status));
    return [...selectors];
  }

  /** Throws the ambiguity error when the pod list does not tie the located identity to one item. */
  function refuseAmbiguous(snapshot: PodListSnapshot, podUid: string | null, containerId: string): void {
    const conflict = (podUid === null ? undefined : snapshot.ambiguousPodUids.get(podUid)) ??
      snapshot.ambiguousContainerIds.get(containerId);
    if (conflict === undefined) return;
    logger.warn(
      conflict.kind === "pod-uid"
        ? "Two pods found with same pod UID"
        : "Two pods found with same container Id",
      {
        pod_uid: podUid ?? "",
        container_id: containerId,
        conflict: conflict.id,
        pods: [conflict.first, conflict.second].map(describePod).join(", "),
      },
    );
    throw ambiguityError(conflict);
  }

  function lookUp(snapshot: PodListSnapshot, podUid: string | null, containerId: string): Lookup {
    refuseAmbiguous(snapshot, podUid, containerId);
    const candidates = snapshot.containersById.get(containerId) ?? [];
    // The parser keeps one pod per container ID; should a source ever break that, refuse all of them.
    const other = candidates.find((m) => m.pod !== candidates[0].pod);
    if (other !== undefined) {
      throw ambiguityError({
        kind: "container-id",
        id: containerId,
        first: candidates[0].pod,
        second: other.pod,
      });
    }
    if (podUid !== null) {
      const reason = snapshot.invalidPods.get(podUid);
      if (reason !== undefined) throw decodeError(podUid, reason);
      const pod = snapshot.podsByUid.get(podUid);
      if (!pod) return NOT_FOUND;
      const inPod = candidates.filter((m) => m.pod.uid === podUid);
      if (inPod.length > 0) {
        const match = bestInPod(inPod);
        if (match.kind === "ephemeral") throw ephemeralDenied(match, containerId);
        return { found: true, pod, container: match };
      }
      // The container is listed, but by another pod: the cgroup path and the kubelet disagree about whose
      // container this is. Never let the path's pod UID win (with disable_container_selectors it would).
      if (candidates.length > 0) throw ownerMismatch(candidates[0], podUid, containerId);
      return disableContainerSelectors ? { found: true, pod, container: null } : NOT_FOUND;
    }

    // Without a pod UID every pod is a candidate, so one undecodable pod anywhere fails closed (as upstream).
    for (const [uid, reason] of snapshot.invalidPods) throw decodeError(uid, reason);
    if (candidates.length === 0) return NOT_FOUND;
    const match = bestInPod(candidates);
    if (match.kind === "ephemeral") throw ephemeralDenied(match, containerId);
    return { found: true, pod: match.pod, container: match };
  }

  async function attestDetailed(pid: number, signal?: AbortSignal): Promise<AttestResult> {
    if (signal?.aborted) throw abortError(signal);
    const location = await raceAbort(locator.locate(pid, signal), signal);
    const { podUid, containerId } = location;
    if (containerId === null) {
      return { selectors: [], podUid, containerId, pod: null, container: null, attempts: 0 };
    }
    // Made when something is logged (a retry, a failure), not for every call.
    let callLog: Logger | undefined;
    const log = () => callLog ??= logger.with({ pod_uid: podUid ?? "", container_id: containerId });

    let version = 0;
    for (let attempt = 1;; attempt++) {
      let snapshot: PodListSnapshot | null = null;
      let fetchError: AttestorError | null = null;
      try {
        snapshot = await raceAbort(pods.fetchNext(version, signal), signal);
        version = Math.max(version, snapshot.version);
      } catch (err) {
        if (signal?.aborted) throw abortError(signal);
        fetchError = toAttestorError(err, "pod-list-failed");
        // Only kubelet, transport and parse errors are retried; a closed fetcher or a contract error is
        // final. The reason decides, never the message.
        if (!RETRIED_FETCH_REASONS.has(fetchError.reason)) throw fetchError;
      }

      if (snapshot) {
        const result = lookUp(snapshot, podUid, containerId);
        if (result.found) {
          const { pod, container } = result;
          const matched = container?.status ?? null;
          const status = disableContainerSelectors ? null : matched;
          let selectors = selectorsFor(pod, status);
          // The seed form is asked only with container selectors (upstream v1.9.6); the current form about
          // the matched container in any case (upstream v1.15.3).
          const verified = imageVerifier?.askedWithoutContainerSelectors ? matched : status;
          if (verified !== null && imageVerifier !== null) {
            let signatureSelectors: readonly string[];
            try {
              signatureSelectors = await raceAbort(imageVerifier.selectorsFor(verified, signal), signal);
            } catch (err) {
              if (signal?.aborted) throw abortError(signal);
              const failure = toAttestorError(err, "internal", "verifying the image signature");
              log().warn("Error retrieving signature payload", {
                container_name: verified.name,
                image_id: verified.imageId,
                error: failure.message,
              });
              throw failure;
            }
            selectors = sortSelectors([...selectors, ...signatureSelectors]);
          }
          // Re-check: the same process (start time) must still hold the PID, in the same pod and container.
          // The locator's `relocate` reuses the start time that closed the first lookup's bracket.
          await confirmSameProcess(
            pid,
            location,
            () =>
              raceAbort(
                locator.relocate ? locator.relocate(pid, location, signal) : locator.locate(pid, signal),
                signal,
              ),
            signal,
          );
          return { selectors, podUid, containerId, pod, container, attempts: attempt };
        }
      }

      if (attempt >= maxAttempts) {
        if (fetchError) {
          log().warn("Unable to get pod list; giving up", { attempt, error: fetchError.message });
          throw fetchError;
        }
        log().warn("Container id not found; giving up", { attempt });
        throw new AttestorError(
          "pod-not-listed",
          `no selectors found after max poll attempts (pod UID ${
            podUid === null ? "unknown" : JSON.stringify(podUid)
          }, container ID ${JSON.stringify(containerId)}, ${attempt} attempts)`,
        );
      }
      if (fetchError) {
        log().warn("Unable to get pod list; will retry after backoff", {
          attempt,
          error: fetchError.message,
        });
      } else {
        log().debug("Container id not found; will retry after backoff", { attempt });
      }
    }
  }

  return {
    attestDetailed,
    async attest(pid, signal) {
      return (await attestDetailed(pid, signal)).selectors;
    },
  };
}
