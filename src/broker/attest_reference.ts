/**
 * `AttestReference` of the SPIFFE Broker API, as upstream's k8s attestor answers it (SPIRE v1.15.3,
 * `pkg/agent/plugin/workloadattestor/k8s/k8s.go`): a `WorkloadPIDReference` runs PID attestation; a
 * `KubernetesObjectReference` to a pod (`pods`/`core`) resolves the pod by namespace/name and/or UID in the
 * kubelet's pod list and, for brokers with `pod_reference_scope = "cluster"`, through the API server; any
 * other resource is resolved through the API server's discovery and the object's metadata. The broker is
 * the SPIFFE ID in the call's `spire-agent-broker-caller-id` metadata (one value; none: no broker, as
 * upstream); with `access_policy = "enforced"` a `SubjectAccessReview` for the broker (user = its SPIFFE ID,
 * no groups, verb `impersonate-via-spire`) must allow the resolved object before any selector is returned.
 *
 * Loaded only when a reference arrives (dynamic import from the runtime).
 *
 * @module
 */

import type { BrokerEntry, Config, PodReferenceScope } from "../config/types.ts";
import { spiffeIdProblem } from "../config/spiffe_id.ts";
import { podSelectorValues, sortSelectors } from "../core/selectors.ts";
import type { PodInfo, PodListSnapshot } from "../core/types.ts";
import { AttestorError, errorMessage } from "../errors.ts";
import { KubernetesObjectReference, WorkloadPIDReference } from "../gen/spiffe/broker/api.ts";
import { FieldTypeError, isObject, projectPod } from "../kubelet/pod_projection.ts";
import type { ReferenceRequest } from "../plugin/types.ts";
import {
  findByUid,
  kubernetesApiGroup,
  NAMESPACE_REQUIRED,
  namespaceLabelValues,
  type ReferenceDeps,
  type Resolved,
} from "./reference_common.ts";
import { attestObjectReference } from "./object_reference.ts";

export type { ReferenceDeps } from "./reference_common.ts";

/** The type URL of a `WorkloadPIDReference` in an `Any`. */
export const WORKLOAD_PID_REFERENCE_TYPE_URL = "type.googleapis.com/spiffe.broker.WorkloadPIDReference";
/** The type URL of a `KubernetesObjectReference` in an `Any`. */
export const KUBERNETES_OBJECT_REFERENCE_TYPE_URL =
  "type.googleapis.com/spiffe.broker.KubernetesObjectReference";
/** SPIRE's own authorization verb for brokers (never Kubernetes' `impersonate`). */
export const BROKER_IMPERSONATION_VERB = "impersonate-via-spire";

/**
 * The broker entry for the call's caller ID, or null when no broker called (upstream's rules and texts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildConfig } from "../config/build.ts";
 * import { brokerEntryFor } from "./attest_reference.ts";
 * const hcl = 'experimental { broker { access_policy = "enforced" brokers = [{ id = "spiffe://example.org/b" }] } }';
 * const config = buildConfig(hcl, { trustDomain: "example.org" }).config!;
 * assert.equal(brokerEntryFor(config, []), null);
 * assert.equal(brokerEntryFor(config, ["spiffe://example.org/b"])?.podReferenceScope, "agent_node");
 * assert.throws(() => brokerEntryFor(config, ["spiffe://example.org/x"]), { reason: "broker-denied" });
 * ```
 *
 * @param config The configuration in force.
 * @param callerIds The `spire-agent-broker-caller-id` values of the call.
 * @returns The entry, or null.
 * @throws {AttestorError} `internal` for several or malformed IDs or no broker block; `broker-denied` for an
 * unknown broker.
 */
export function brokerEntryFor(config: Config, callerIds: readonly string[]): BrokerEntry | null {
  if (callerIds.length === 0) return null;
  const prefix = "unable to determine broker caller identity";
  if (callerIds.length > 1) {
    throw new AttestorError("internal", `${prefix}: multiple broker caller SPIFFE IDs provided`);
  }
  const id = callerIds[0];
  const problem = spiffeIdProblem(id);
  if (problem !== null) {
    throw new AttestorError("internal", `${prefix}: invalid broker caller SPIFFE ID: ${problem}`);
  }
  if (config.broker === null) throw new AttestorError("internal", "broker configuration missing");
  const entry = config.broker.brokers.get(id);
  if (!entry) throw new AttestorError("broker-denied", `broker ${JSON.stringify(id)} is not configured`);
  return entry;
}

/**
 * client-go's `IsValidPathSegmentName`: a name or namespace that goes into a request path may not be `.` or
 * `..` and may not contain `/` or `%` (the API server would resolve `pods/..` to another object).
 */
function pathSegmentProblem(value: string): string | null {
  if (value === "." || value === "..") return `may not be '${value}'`;
  if (value.includes("/")) return "may not contain '/'";
  if (value.includes("%")) return "may not contain '%'";
  return null;
}

/** Validates an object reference as upstream does (InvalidArgument texts), and its path segments. */
function validateObjectReference(ref: KubernetesObjectReference): void {
  const bad = (text: string) => new AttestorError("bad-request", text);
  if (!ref.type) throw bad("object reference is missing type");
  if (ref.type.plural === "") throw bad("object reference type is missing plural");
  if (ref.type.group === "") throw bad("object reference type is missing group");
  if (!ref.key && ref.uid === "") throw bad("object reference is missing key and UID");
  if (ref.key && ref.key.name === "") throw bad("object reference key is missing name");
  for (const [what, value] of [["name", ref.key?.name ?? ""], ["namespace", ref.key?.namespace ?? ""]]) {
    const problem = value === "" ? null : pathSegmentProblem(value);
    if (problem !== null) {
      throw bad(`invalid resource ${what} ${JSON.stringify(value.slice(0, 256))}: ${problem}`);
    }
  }
}

// ---------------------------------------------------------------- pods

/** The kubelet pod list for a pod reference, or null when the scope allows falling back to the API server. */
async function podListForReference(
  deps: ReferenceDeps,
  scope: PodReferenceScope,
  signal: AbortSignal,
): Promise<PodListSnapshot | null> {
  if (deps.pods === null) {
    if (scope !== "cluster") throw new AttestorError("kubelet-disabled", "kubelet client is disabled");
    return null;
  }
  try {
    return await deps.pods.fetchNext(0, signal);
  } catch (err) {
    if (scope !== "cluster" || signal.aborted) throw err;
    deps.logger.debug("Unable to query kubelet for pod reference; falling back to Kubernetes API", {
      error: errorMessage(err),
    });
    return null;
  }
}

function ambiguous(text: string): AttestorError {
  return new AttestorError("pod-list-ambiguous", text);
}

/** The pod named `namespace/name` in the kubelet's list, failing closed on any doubt; undefined when absent. */
function podByNameInList(list: PodListSnapshot, namespace: string, name: string): PodInfo | undefined {
  const matches = [...list.podsByUid.values()].filter((p) => p.namespace === namespace && p.name === name);
  const conflicts = [...list.ambiguousPodUids.values()].filter((c) =>
    [c.first, c.second].some((p) => p.namespace === namespace && p.name === name)
  );
  if (matches.length + conflicts.length > 1 || conflicts.length > 0) {
    throw ambiguous(`two pods in the kubelet's pod list are named ${namespace}/${name}`);
  }
  if (matches.length === 1) return matches[0];
  if (list.invalidPods.size > 0) {
    const [uid, reason] = list.invalidPods.entries().next().value!;
    throw new AttestorError(
      "pod-decode-failed",
      `unable to decode pod info from kubelet response: pod ${JSON.stringify(uid)}: ${reason}`,
    );
  }
  return undefined;
}

/** The pod with `uid` in the kubelet's list, failing closed on any doubt; undefined when absent. */
function podByUidInList(list: PodListSnapshot, uid: string): PodInfo | undefined {
  if (list.ambiguousPodUids.has(uid)) throw ambiguous(`two pods in the kubelet's pod list have UID ${uid}`);
  const reason = list.invalidPods.get(uid);
  if (reason !== undefined) {
    throw new AttestorError(
      "pod-decode-failed",
      `unable to decode pod info from kubelet response: pod ${JSON.stringify(uid)}: ${reason}`,
    );
  }
  return list.podsByUid.get(uid);
}

/** A full pod from the API server, projected like a kubelet item. */
async function getPodFromApi(
  deps: ReferenceDeps,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<PodInfo> {
  const { client } = await deps.api();
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
  let json: unknown;
  try {
    const res = await client.get(path, { signal });
    if (res.status === 404) throw new AttestorError("object-not-found", `pod ${namespace}/${name} not found`);
    json = res.json;
  } catch (err) {
    if (err instanceof AttestorError && err.reason !== "apiserver-failed") throw err;
    throw new AttestorError(
      "apiserver-failed",
      `unable to get pod from Kubernetes API: ${errorMessage(err)}`,
    );
  }
  const metadata = isObject(json) ? (json as Record<string, unknown>).metadata : undefined;
  if (!isObject(json) || !isObject(metadata)) {
    throw new AttestorError(
      "apiserver-failed",
      `unable to get pod from Kubernetes API: GET ${path}: not a pod`,
    );
  }
  const uid = typeof metadata.uid === "string" ? metadata.uid : "";
  if (metadata.namespace !== namespace || metadata.name !== name) {
    throw new AttestorError(
      "apiserver-failed",
      `unable to get pod from Kubernetes API: GET ${path}: another object answered`,
    );
  }
  try {
    return projectPod(uid, metadata, json as Record<string, unknown>);
  } catch (err) {
    const detail = err instanceof FieldTypeError ? err.message : errorMessage(err);
    throw new AttestorError("apiserver-failed", `unable to decode pod from Kubernetes API: ${detail}`);
  }
}

async function attestPodReference(
  deps: ReferenceDeps,
  broker: BrokerEntry | null,
  ref: KubernetesObjectReference,
  signal: AbortSignal,
): Promise<Resolved> {
  const namespace = ref.key?.namespace ?? "";
  const name = ref.key?.name ?? "";
  const uid = ref.uid;
  const scope = broker?.podReferenceScope ?? "agent_node";
  if (name !== "" && namespace === "") throw new AttestorError("bad-request", NAMESPACE_REQUIRED);
  const list = await podListForReference(deps, scope, signal);
  let pod: PodInfo | undefined;
  if (name !== "") {
    if (list) pod = podByNameInList(list, namespace, name);
    if (!pod) {
      if (scope === "agent_node") {
        throw new AttestorError("object-not-found", `pod ${namespace}/${name} not found on agent node`);
      }
      pod = await getPodFromApi(deps, namespace, name, signal);
    }
  } else {
    if (list) pod = podByUidInList(list, uid);
    if (!pod) {
      if (scope === "agent_node") {
        throw new AttestorError("object-not-found", `pod with UID ${uid} not found on agent node`);
      }
      const meta = await findByUid(deps, "/api/v1", "pods", "Pod", uid, signal);
      pod = await getPodFromApi(deps, meta.namespace, meta.name, signal);
    }
  }
  if (uid !== "" && pod.uid !== uid) {
    throw new AttestorError(
      "object-not-found",
      `pod ${pod.namespace}/${pod.name} has UID ${pod.uid}, expected ${uid}`,
    );
  }
  const selectors = [...podSelectorValues(pod), ...await namespaceLabelValues(deps, pod.namespace, signal)];
  return {
    selectors,
    object: { plural: "pods", group: "core", namespace: pod.namespace, name: pod.name },
  };
}

// ---------------------------------------------------------------- other resources

// ---------------------------------------------------------------- PID

async function attestPidReference(deps: ReferenceDeps, pid: number, signal: AbortSignal): Promise<Resolved> {
  const result = await deps.core.attestDetailed(pid, signal);
  if (result.pod === null) return { selectors: result.selectors, object: null };
  const selectors = [...result.selectors, ...await namespaceLabelValues(deps, result.pod.namespace, signal)];
  return {
    selectors,
    object: { plural: "pods", group: "core", namespace: result.pod.namespace, name: result.pod.name },
  };
}

// ---------------------------------------------------------------- authorization

/** The `impersonate-via-spire` SubjectAccessReview for the broker on the resolved object. */
async function checkBrokerImpersonation(
  deps: ReferenceDeps,
  broker: BrokerEntry,
  object: NonNullable<Resolved["object"]>,
  signal: AbortSignal,
): Promise<void> {
  const review = {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      user: broker.id,
      resourceAttributes: {
        group: kubernetesApiGroup(object.group),
        resource: object.plural,
        namespace: object.namespace,
        name: object.name,
        verb: BROKER_IMPERSONATION_VERB,
      },
    },
  };
  let allowed: unknown;
  let denied: unknown;
  try {
    const { client } = await deps.api();
    const res = await client.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", review, { signal });
    if (res.status === 404) throw new Error("the API server answered 404");
    const status = (res.json as { status?: { allowed?: unknown; denied?: unknown } } | null)?.status;
    allowed = status?.allowed;
    denied = status?.denied;
  } catch (err) {
    if (err instanceof AttestorError && err.reason !== "apiserver-failed") throw err;
    throw new AttestorError(
      "apiserver-failed",
      `unable to check Kubernetes authorization for broker: ${errorMessage(err)}`,
    );
  }
  // Only a plain allow counts: `denied` set too is a contradictory answer (denied implies not allowed), so it
  // is a denial (upstream reads `allowed` alone).
  if (allowed !== true || denied === true) {
    throw new AttestorError(
      "broker-denied",
      "Kubernetes authorizer does not allow the broker to use impersonate-via-spire for the referenced object",
    );
  }
}

/**
 * Answers one `AttestReference`: the selector values (sorted, unique) for the reference, after the broker
 * checks. Errors are upstream's, by reason: a malformed reference `bad-request`, an unknown broker or a
 * denied review `broker-denied`, a missing object `object-not-found`, API server trouble `apiserver-failed`,
 * a kubelet-only answer with the kubelet disabled `kubelet-disabled`.
 *
 * @param deps The configuration, PID attestation, pod list and API server.
 * @param request The reference and the broker caller IDs of the call.
 * @param signal The call's deadline and cancellation.
 * @returns The selector values.
 */
export async function attestReference(
  deps: ReferenceDeps,
  request: ReferenceRequest,
  signal: AbortSignal,
): Promise<string[]> {
  const reference = request.reference;
  if (reference === null) throw new AttestorError("bad-request", "workload reference must be provided");
  const broker = brokerEntryFor(deps.config, request.brokerCallerIds);
  let resolved: Resolved;
  switch (reference.typeUrl) {
    case WORKLOAD_PID_REFERENCE_TYPE_URL: {
      let pid: number;
      try {
        pid = WorkloadPIDReference.decode(reference.value).pid;
      } catch (err) {
        throw new AttestorError("bad-request", `unable to unmarshal PID reference: ${errorMessage(err)}`);
      }
      resolved = await attestPidReference(deps, pid, signal);
      break;
    }
    case KUBERNETES_OBJECT_REFERENCE_TYPE_URL: {
      let ref: KubernetesObjectReference;
      try {
        ref = KubernetesObjectReference.decode(reference.value);
      } catch (err) {
        throw new AttestorError("bad-request", `unable to unmarshal object reference: ${errorMessage(err)}`);
      }
      validateObjectReference(ref);
      resolved = ref.type!.plural === "pods" && ref.type!.group === "core"
        ? await attestPodReference(deps, broker, ref, signal)
        : await attestObjectReference(deps, ref, signal);
      break;
    }
    default:
      throw new AttestorError(
        "bad-request",
        `unsupported reference type: ${JSON.stringify(reference.typeUrl.slice(0, 256))}`,
      );
  }
  if (broker !== null && deps.config.broker?.accessPolicy === "enforced" && resolved.object !== null) {
    await checkBrokerImpersonation(deps, broker, resolved.object, signal);
  }
  return sortSelectors(resolved.selectors);
}
