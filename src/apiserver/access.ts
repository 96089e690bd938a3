/**
 * Everything the plugin reaches the Kubernetes API server with: one client from the in-cluster
 * configuration and the namespace-label cache over it. Loaded only through `lazy.ts`.
 *
 * @module
 */

import { type ApiServerClient, createApiServerClient } from "./client.ts";
import { inClusterLocation, type InClusterOptions } from "./in_cluster.ts";
import { NamespaceLabelCache } from "./namespace_labels.ts";

/** Options of {@linkcode createApiServerAccess}. */
export interface ApiServerAccessOptions extends InClusterOptions {
  /** The bound of one request. @default {DEFAULT_APISERVER_TIMEOUT_MS} */
  readonly timeoutMs?: number;
  /** The cap on an answer. @default {DEFAULT_APISERVER_MAX_BODY_BYTES} */
  readonly maxBodyBytes?: number;
  /** How long namespace labels are used. @default {NAMESPACE_LABELS_TTL_MS} */
  readonly namespaceLabelsTtlMs?: number;
}

/** The client and the namespace-label cache. */
export interface ApiServerAccess {
  /** The client. */
  readonly client: ApiServerClient;
  /** Namespace labels, cached. */
  readonly namespaceLabels: NamespaceLabelCache;
}

/**
 * Creates the access from the in-cluster configuration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createApiServerAccess } from "./access.ts";
 * const env: Record<string, string> = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
 * assert.equal(createApiServerAccess({ getenv: (n) => env[n] }).client.baseUrl, "https://10.96.0.1:443");
 * ```
 *
 * @param options Environment, directory and bounds.
 * @returns The access.
 * @throws {AttestorError} `apiserver-failed` when there is no in-cluster configuration.
 */
export function createApiServerAccess(options: ApiServerAccessOptions = {}): ApiServerAccess {
  const client = createApiServerClient({
    location: inClusterLocation(options),
    timeoutMs: options.timeoutMs,
    maxBodyBytes: options.maxBodyBytes,
  });
  return {
    client,
    namespaceLabels: new NamespaceLabelCache(client, { ttlMs: options.namespaceLabelsTtlMs }),
  };
}
