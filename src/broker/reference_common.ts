/**
 * What the reference kinds of `AttestReference` share: the runtime dependencies, the resolved object, the
 * Kubernetes name rules and the namespace labels of a resolved object.
 *
 * @module
 */

import type { Config } from "../config/types.ts";
import type { AttestCore } from "../core/attest.ts";
import type { PodListSource } from "../core/types.ts";
import { AttestorError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ApiServerAccessGetter } from "../apiserver/lazy.ts";
import { namespaceLabelSelectors, PARTIAL_METADATA_ACCEPT } from "../apiserver/namespace_labels.ts";
import { type ObjectMeta, parseObjectMeta } from "./object_selectors.ts";

/** Upstream's text for a namespaced resource named without a namespace. */
export const NAMESPACE_REQUIRED = "namespace is required when name is set for a namespaced resource";

/** A DNS-style name (plural, group): what may go into a request path unescaped. */
export const PATH_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

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
export interface Resolved {
  readonly selectors: string[];
  readonly object: {
    readonly plural: string;
    readonly group: string;
    readonly namespace: string;
    readonly name: string;
  } | null;
}

/** The API group as Kubernetes spells it (`core` is the empty group). */
export function kubernetesApiGroup(group: string): string {
  return group === "core" ? "" : group;
}

/** The `ns-label` selector values of `namespace` when `enable_namespace_labels` is set, else none. */
export async function namespaceLabelValues(
  deps: ReferenceDeps,
  namespace: string,
  signal: AbortSignal,
): Promise<string[]> {
  if (!deps.config.enableNamespaceLabels) return [];
  const access = await deps.api();
  return namespaceLabelSelectors(await access.namespaceLabels.labels(namespace, signal));
}

/** Lists the metadata of every object of a resource, cluster-wide, and finds the one with `uid`. */
export async function findByUid(
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
