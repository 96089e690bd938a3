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
import type { AttestCore } from "../core/attest.ts";
import { podSelectorValues, sortSelectors } from "../core/selectors.ts";
import type { PodInfo, PodListSnapshot, PodListSource } from "../core/types.ts";
import { AttestorError, errorMessage } from "../errors.ts";
import { KubernetesObjectReference, WorkloadPIDReference } from "../gen/spiffe/broker/api.ts";
import { FieldTypeError, isObject, projectPod } from "../kubelet/pod_projection.ts";
import type { Logger } from "../log.ts";
import type { ApiServerAccessGetter } from "../apiserver/lazy.ts";
import { namespaceLabelSelectors, PARTIAL_METADATA_ACCEPT } from "../apiserver/namespace_labels.ts";
import { type ObjectMeta, objectMetaSelectors, parseObjectMeta } from "./object_selectors.ts";
import type { ReferenceRequest } from "../plugin/types.ts";

/** The type URL of a `WorkloadPIDReference` in an `Any`. */
export const WORKLOAD_PID_REFERENCE_TYPE_URL = "type.googleapis.com/spiffe.broker.WorkloadPIDReference";
/** The type URL of a `KubernetesObjectReference` in an `Any`. */
export const KUBERNETES_OBJECT_REFERENCE_TYPE_URL =
  "type.googleapis.com/spiffe.broker.KubernetesObjectReference";
/** SPIRE's own authorization verb for brokers (never Kubernetes' `impersonate`). */
export const BROKER_IMPERSONATION_VERB = "impersonate-via-spire";

const NAMESPACE_REQUIRED = "namespace is required when name is set for a namespaced resource";
/** A DNS-style name (plural, group): what may go into a request path unescaped. */
const PATH_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

/** What reference attestation needs from the runtime. */
export interface ReferenceDeps {
  /** The configuration in force. */
  readonly config: Config;
  /** PID attestation (throws `kubelet-disabled` when the kubelet client is disabled). */
  readonly core: AttestCore;
  /** The kubelet's pod list, or null when `disable_kubelet_client` is set. */
  readonly pods: PodListSource | null;
  /** The API server, created on first use. */
  readonly api: ApiServerAccessGetter;
  /** Diagnostics. */
  readonly logger: Logger;
}

/** The object that selectors were resolved for: what the SubjectAccessReview asks about. */
interface Resolved {
  readonly selectors: string[];
  readonly object: {
    readonly plural: string;
    readonly group: string;
    readonly namespace: string;
    readonly name: string;
  } | null;
}

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

function kubernetesApiGroup(group: string): string {
  return group === "core" ? "" : group;
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

async function namespaceLabelValues(
  deps: ReferenceDeps,
  namespace: string,
  signal: AbortSignal,
): Promise<string[]> {
  if (!deps.config.enableNamespaceLabels) return [];
  const access = await deps.api();
  return namespaceLabelSelectors(await access.namespaceLabels.labels(namespace, signal));
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

/** Lists the metadata of every object of a resource, cluster-wide, and finds the one with `uid`. */
async function findByUid(
  deps: ReferenceDeps,
  base: string,
  plural: string,
  kind: string,
  uid: string,
  signal: AbortSignal,
): Promise<ObjectMeta> {
  const { client } = await deps.api();
  const path = `${base}/${plural}`;
  let items: unknown;
  try {
    const res = await client.get(path, {
      accept: PARTIAL_METADATA_ACCEPT.replace("as=PartialObjectMetadata", "as=PartialObjectMetadataList"),
      signal,
    });
    if (res.status === 404) {
      throw new AttestorError("apiserver-failed", `GET ${path}: the API server answered 404`);
    }
    items = (res.json as { items?: unknown } | null)?.items;
  } catch (err) {
    if (err instanceof AttestorError && err.reason !== "apiserver-failed") throw err;
    throw new AttestorError("apiserver-failed", `unable to list ${kind}: ${errorMessage(err)}`);
  }
  if (!Array.isArray(items)) {
    throw new AttestorError("apiserver-failed", `unable to list ${kind}: GET ${path}: no items`);
  }
  const found: ObjectMeta[] = [];
  for (const item of items) {
    const meta = parseObjectMeta(item, `GET ${path}`);
    if (meta.uid === uid) found.push(meta);
  }
  if (found.length > 1) {
    throw new AttestorError("apiserver-failed", `unable to list ${kind}: two objects have UID ${uid}`);
  }
  if (found.length === 0) throw new AttestorError("object-not-found", `${kind} with UID ${uid} not found`);
  return found[0];
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

interface Mapping {
  readonly version: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** `/api/v1` or `/apis/<group>/<version>`. */
  readonly base: string;
}

/** Discovery: the preferred version, kind and scope of `<plural>.<group>` (the REST mapper's job upstream). */
async function discover(
  deps: ReferenceDeps,
  plural: string,
  group: string,
  signal: AbortSignal,
): Promise<Mapping> {
  const unknown = () =>
    new AttestorError(
      "bad-request",
      `unknown Kubernetes resource ${plural}.${group}: no matches for ${
        kubernetesApiGroup(group)
      }/, Resource=${plural}`,
    );
  if (!PATH_NAME.test(plural) || (group !== "core" && !PATH_NAME.test(group))) throw unknown();
  const { client } = await deps.api();
  const fail = (err: unknown) =>
    err instanceof AttestorError && err.reason !== "apiserver-failed"
      ? err
      : new AttestorError("apiserver-failed", `unable to discover ${plural}.${group}: ${errorMessage(err)}`);
  let base = "/api/v1";
  let version = "v1";
  try {
    if (group !== "core") {
      const res = await client.get(`/apis/${group}`, { signal });
      if (res.status === 404) throw unknown();
      const preferred = (res.json as { preferredVersion?: { version?: unknown } } | null)?.preferredVersion
        ?.version;
      if (typeof preferred !== "string" || !PATH_NAME.test(preferred)) {
        throw new AttestorError("apiserver-failed", `GET /apis/${group}: no preferred version`);
      }
      version = preferred;
      base = `/apis/${group}/${version}`;
    }
    const res = await client.get(base, { signal });
    if (res.status === 404) throw unknown();
    const resources = (res.json as { resources?: unknown } | null)?.resources;
    if (!Array.isArray(resources)) throw new AttestorError("apiserver-failed", `GET ${base}: no resources`);
    const entry = resources.find((r) => isObject(r) && r.name === plural) as
      | Record<string, unknown>
      | undefined;
    if (!entry) throw unknown();
    if (typeof entry.kind !== "string" || entry.kind === "" || typeof entry.namespaced !== "boolean") {
      throw new AttestorError("apiserver-failed", `GET ${base}: resource ${plural} has no kind or scope`);
    }
    return { version, kind: entry.kind, namespaced: entry.namespaced, base };
  } catch (err) {
    throw fail(err);
  }
}

async function attestObjectReference(
  deps: ReferenceDeps,
  ref: KubernetesObjectReference,
  signal: AbortSignal,
): Promise<Resolved> {
  const plural = ref.type!.plural;
  const group = ref.type!.group;
  const namespace = ref.key?.namespace ?? "";
  const name = ref.key?.name ?? "";
  const uid = ref.uid;
  const mapping = await discover(deps, plural, group, signal);
  if (mapping.namespaced && name !== "" && namespace === "") {
    throw new AttestorError("bad-request", NAMESPACE_REQUIRED);
  }
  if (!mapping.namespaced && namespace !== "") {
    throw new AttestorError("bad-request", "namespace must be empty for cluster-scoped resource");
  }
  let meta: ObjectMeta;
  if (name !== "") {
    const { client } = await deps.api();
    const ns = mapping.namespaced ? `/namespaces/${encodeURIComponent(namespace)}` : "";
    const path = `${mapping.base}${ns}/${plural}/${encodeURIComponent(name)}`;
    try {
      const res = await client.get(path, { accept: PARTIAL_METADATA_ACCEPT, signal });
      if (res.status === 404) {
        throw new AttestorError("object-not-found", `${mapping.kind} ${namespace}/${name} not found`);
      }
      meta = parseObjectMeta(res.json, `GET ${path}`);
      // The selectors and the review are about the answered object: it must be the one asked for (an
      // aggregated API server answers for its own resources).
      if (meta.name !== name || meta.namespace !== (mapping.namespaced ? namespace : "")) {
        throw new AttestorError("apiserver-failed", `GET ${path}: another object answered`);
      }
    } catch (err) {
      if (err instanceof AttestorError && err.reason !== "apiserver-failed") throw err;
      throw new AttestorError("apiserver-failed", `unable to get ${mapping.kind}: ${errorMessage(err)}`);
    }
  } else {
    meta = await findByUid(deps, mapping.base, plural, mapping.kind, uid, signal);
  }
  if (uid !== "" && meta.uid !== uid) {
    throw new AttestorError(
      "object-not-found",
      `${plural}.${group} ${meta.namespace}/${meta.name} has UID ${meta.uid}, expected ${uid}`,
    );
  }
  const apiGroup = kubernetesApiGroup(group);
  const selectors = objectMetaSelectors({
    plural,
    group,
    version: mapping.version,
    apiVersion: apiGroup === "" ? mapping.version : `${apiGroup}/${mapping.version}`,
    kind: mapping.kind,
  }, meta);
  if (mapping.namespaced && meta.namespace !== "") {
    selectors.push(...await namespaceLabelValues(deps, meta.namespace, signal));
  }
  return { selectors, object: { plural, group, namespace: meta.namespace, name: meta.name } };
}

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
