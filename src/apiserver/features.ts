/**
 * The runtime's small hooks for the API server features, kept apart from `runtime.ts` so that it only
 * calls them: PID attestation with namespace labels, and the core that stands in when the kubelet client is
 * disabled. The API server code itself is reached through `lazy.ts` only.
 *
 * @module
 */

import type { AttestCore } from "../core/attest.ts";
import { sortSelectors } from "../core/selectors.ts";
import { AttestorError } from "../errors.ts";
import type { ApiServerAccessGetter } from "./lazy.ts";

/**
 * The core of a runtime with `disable_kubelet_client`: every PID attestation fails with upstream's
 * FAILED_PRECONDITION text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kubeletDisabledCore } from "./features.ts";
 * await assert.rejects(kubeletDisabledCore().attest(1), { reason: "kubelet-disabled", message: "kubelet client is disabled" });
 * ```
 *
 * @returns The core.
 */
export function kubeletDisabledCore(): AttestCore {
  const refuse = () => Promise.reject(new AttestorError("kubelet-disabled", "kubelet client is disabled"));
  return { attest: refuse, attestDetailed: refuse };
}

/**
 * PID attestation plus the `ns-label:<key>:<value>` selectors of the matched pod's namespace (upstream adds
 * them whenever a pod matched, also with `disable_container_selectors`); sorted and de-duplicated.
 *
 * @param core The attestor core.
 * @param api The API server access.
 * @param pid The process.
 * @param signal The call's deadline and cancellation.
 * @returns The selector values.
 * @throws {AttestorError} The core's errors; `apiserver-failed` when the labels cannot be read.
 */
export async function attestWithNamespaceLabels(
  core: AttestCore,
  api: ApiServerAccessGetter,
  pid: number,
  signal: AbortSignal,
): Promise<string[]> {
  const result = await core.attestDetailed(pid, signal);
  if (result.pod === null) return result.selectors;
  const { namespaceLabelSelectors } = await import("./namespace_labels.ts");
  const labels = await (await api()).namespaceLabels.labels(result.pod.namespace, signal);
  return sortSelectors([...result.selectors, ...namespaceLabelSelectors(labels)]);
}
