/**
 * `enable_namespace_labels`: the labels of a pod's namespace from the API server, as `ns-label:<key>:<value>`
 * selector values (upstream's form), cached for a few seconds.
 *
 * Upstream reads the namespace's metadata with a live `Get` on every attestation (or from a watch-backed
 * cache with `experimental.api_server.cache.enabled`). Here each namespace's labels are kept for
 * {@linkcode NAMESPACE_LABELS_TTL_MS} (5 s), counted from when the request that read them was sent (however
 * slowly the answer came), and concurrent look-ups of one namespace share one request sent less than the TTL
 * ago: a burst of attestations costs one API request per namespace, and a
 * label removed from a namespace stops granting `ns-label` selectors within 5 s (about a watch's lag). Errors
 * are never cached. At most {@linkcode NAMESPACE_LABELS_MAX_ENTRIES} namespaces are kept; the oldest go first.
 *
 * @module
 */

import { raceAbort } from "../core/abort.ts";
import { AttestorError } from "../errors.ts";
import type { ApiServerClient } from "./client.ts";

/** How long a namespace's labels are used. */
export const NAMESPACE_LABELS_TTL_MS = 5_000;
/** How many namespaces are cached at most. */
export const NAMESPACE_LABELS_MAX_ENTRIES = 1024;
/** The Accept header of a metadata-only read (`PartialObjectMetadata`, as upstream). */
export const PARTIAL_METADATA_ACCEPT =
  "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

/** A label as [key, value]. */
export type Label = readonly [string, string];

/**
 * The `metadata.labels` of an object as [key, value] pairs, in the API server's order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelsOf } from "./namespace_labels.ts";
 * assert.deepEqual(labelsOf({ metadata: { labels: { a: "1" } } }, "x"), [["a", "1"]]);
 * assert.deepEqual(labelsOf({ metadata: {} }, "x"), []);
 * assert.throws(() => labelsOf({ metadata: { labels: { a: 1 } } }, "x"), { reason: "apiserver-failed" });
 * ```
 *
 * @param object The JSON object.
 * @param what For the message.
 * @returns The labels.
 * @throws {AttestorError} `apiserver-failed` when the metadata or labels are not of the expected form.
 */
export function labelsOf(object: unknown, what: string): Label[] {
  const metadata = (object as { metadata?: unknown } | null)?.metadata;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new AttestorError("apiserver-failed", `${what}: the answer has no metadata object`);
  }
  const labels = (metadata as { labels?: unknown }).labels;
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== "object" || Array.isArray(labels)) {
    throw new AttestorError("apiserver-failed", `${what}: metadata.labels is not an object`);
  }
  const out: Label[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== "string") {
      throw new AttestorError(
        "apiserver-failed",
        `${what}: metadata.labels has a value that is not a string`,
      );
    }
    out.push([key, value]);
  }
  return out;
}

/**
 * The selector values of namespace labels: `ns-label:<key>:<value>` each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { namespaceLabelSelectors } from "./namespace_labels.ts";
 * assert.deepEqual(namespaceLabelSelectors([["team", "a"]]), ["ns-label:team:a"]);
 * ```
 *
 * @param labels The labels.
 * @returns The values.
 */
export function namespaceLabelSelectors(labels: readonly Label[]): string[] {
  return labels.map(([key, value]) => `ns-label:${key}:${value}`);
}

interface Entry {
  readonly labels: readonly Label[];
  readonly at: number;
}

/** Options of {@linkcode NamespaceLabelCache}. */
export interface NamespaceLabelCacheOptions {
  /** How long a namespace's labels are used. @default {NAMESPACE_LABELS_TTL_MS} */
  readonly ttlMs?: number;
  /** How many namespaces are kept at most. @default {NAMESPACE_LABELS_MAX_ENTRIES} */
  readonly maxEntries?: number;
  /** Monotonic milliseconds. @default {performance.now} */
  readonly now?: () => number;
}

/** Namespace labels from the API server, cached per namespace (see the module text). */
export class NamespaceLabelCache {
  readonly #client: ApiServerClient;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<
    string,
    { readonly promise: Promise<readonly Label[]>; readonly sentAt: number }
  >();

  /**
   * Creates an empty cache over `client`.
   *
   * @param client The API server client.
   * @param options TTL, size and clock.
   */
  constructor(client: ApiServerClient, options: NamespaceLabelCacheOptions = {}) {
    this.#client = client;
    this.#ttlMs = options.ttlMs ?? NAMESPACE_LABELS_TTL_MS;
    this.#maxEntries = options.maxEntries ?? NAMESPACE_LABELS_MAX_ENTRIES;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * The labels of `namespace`.
   *
   * @param namespace The namespace name.
   * @param signal The caller's cancellation (a shared request goes on for the other callers).
   * @returns The labels.
   * @throws {AttestorError} `apiserver-failed` `unable to get namespace labels for "<ns>": ...` (upstream's
   * text), also when the namespace does not exist.
   */
  async labels(namespace: string, signal?: AbortSignal): Promise<readonly Label[]> {
    const now = this.#now();
    const cached = this.#entries.get(namespace);
    if (cached && now - cached.at < this.#ttlMs) return cached.labels;
    // A request sent longer than the TTL ago may answer with labels older than the TTL: not joined.
    let pending = this.#inFlight.get(namespace);
    if (!pending || now - pending.sentAt >= this.#ttlMs) {
      const own = {
        sentAt: now,
        promise: this.#fetch(namespace, now).finally(() => {
          if (this.#inFlight.get(namespace) === own) this.#inFlight.delete(namespace);
        }),
      };
      pending = own;
      this.#inFlight.set(namespace, own);
    }
    return await raceAbort(pending.promise, signal);
  }

  /** Reads the labels; the entry counts from `sentAt`, the earliest moment the answer can reflect. */
  async #fetch(namespace: string, sentAt: number): Promise<readonly Label[]> {
    const what = `unable to get namespace labels for ${JSON.stringify(namespace)}`;
    let labels: Label[];
    try {
      if (namespace === "" || namespace === "." || namespace === ".." || /[/%]/.test(namespace)) {
        throw new AttestorError("apiserver-failed", "not a namespace name");
      }
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
      const res = await this.#client.get(path, { accept: PARTIAL_METADATA_ACCEPT });
      if (res.status === 404) {
        throw new AttestorError("apiserver-failed", `namespaces ${JSON.stringify(namespace)} not found`);
      }
      labels = labelsOf(res.json, `GET ${path}`);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      throw new AttestorError("apiserver-failed", `${what}: ${text}`, { cause: err });
    }
    const newer = this.#entries.get(namespace);
    if (newer && newer.at > sentAt) return labels; // a later request already answered
    this.#entries.delete(namespace);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(namespace, { labels, at: sentAt });
    return labels;
  }
}
