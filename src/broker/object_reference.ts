/**
 * `KubernetesObjectReference` to any resource but pods: API discovery finds the resource, its metadata
 * (`PartialObjectMetadata`) gives upstream's object selectors.
 *
 * @module
 */

import { AttestorError, errorMessage } from "../errors.ts";
import type { KubernetesObjectReference } from "../gen/spiffe/broker/api.ts";
import { isObject } from "../kubelet/pod_projection.ts";
import { PARTIAL_METADATA_ACCEPT } from "../apiserver/namespace_labels.ts";
import { type ObjectMeta, objectMetaSelectors, parseObjectMeta } from "./object_selectors.ts";
import {
  findByUid,
  kubernetesApiGroup,
  NAMESPACE_REQUIRED,
  namespaceLabelValues,
  PATH_NAME,
  type ReferenceDeps,
  type Resolved,
} from "./reference_common.ts";

/** A resource as API discovery maps it: its base path, kind and whether it is namespaced. */
export interface Mapping {
  readonly version: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** `/api/v1` or `/apis/<group>/<version>`. */
  readonly base: string;
}

/** Discovery: the preferred version, kind and scope of `<plural>.<group>` (the REST mapper's job upstream). */
export async function discover(
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

/** The selectors of a reference to a non-pod resource (discovery, then its metadata), and the object. */
export async function attestObjectReference(
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
