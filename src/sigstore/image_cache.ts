/**
 * The machinery both sigstore forms share (`verifier.ts` for `experimental.sigstore`,
 * `verifier_current.ts` for the top-level block): the core's port type, the image-manifest digest check,
 * and a verifier that answers the skip list first, requires a digest, caches results per digest reference
 * (bounded LRU with a TTL) and shares concurrent verifications of one image.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { AttestorError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ImageReference, RegistryClient } from "../oci/types.ts";
import { formatImageReference, parseImageReference } from "../oci/reference.ts";
import { abortError, raceAbort } from "../core/abort.ts";

/**
 * An `AttestorError` with reason `signature-unverified`.
 *
 * @param message What cannot be trusted, naming the image.
 * @returns The error.
 */
export function unverified(message: string): AttestorError {
  return new AttestorError("signature-unverified", message);
}

/**
 * `text` cut to `max` characters, ending in `…` when cut.
 *
 * @param text The text.
 * @param max Longest length kept.
 * @returns The text, clipped.
 */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Most images cached. A node runs at most a few hundred containers (kubelet default: 110 pods), and far
 * fewer distinct images; 256 covers a busy node's working set while bounding memory (an entry is the
 * selector values of its signatures, typically well under 2 KiB).
 */
export const DEFAULT_CACHE_MAX_ENTRIES = 256;
/**
 * How long a verification is reused: 10 minutes. It bounds how long a signature deleted from the registry
 * (e.g. after a signer compromise) or a registry outage goes unnoticed, while a busy node re-verifies each
 * image at most six times an hour. Configuration changes do not wait for it: each Configure has its own
 * cache.
 */
export const DEFAULT_CACHE_TTL_MS = 10 * 60 * 1000;

/** The container whose image is verified: the fields of the kubelet's container status. */
export interface ContainerImage {
  /** `imageID` as the kubelet reports it. */
  readonly imageId: string;
  /** `containerID` as the kubelet reports it (with its runtime scheme); prefixes the selectors. */
  readonly containerId: string;
}

/** Verifies the image of a matched container; the core's port. */
export interface SigstoreVerifier {
  /**
   * The sigstore selector values of `container` (unsorted).
   *
   * @throws {AttestorError} `signature-unverified`, `registry-failed`, or `cancelled`/`deadline-exceeded`
   *   when `signal` ends the call.
   */
  selectorsFor(container: ContainerImage, signal?: AbortSignal): Promise<string[]>;
  /**
   * True when the verifier is asked about the matched container even with `disable_container_selectors`
   * (the current form, as upstream v1.15.3); absent or false: only when container selectors are enabled
   * (the seed form, as upstream v1.9.6).
   */
  readonly askedWithoutContainerSelectors?: boolean;
}

interface CacheEntry<T> {
  readonly verified: T;
  readonly storedAt: number;
}

interface InFlight<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  waiters: number;
}

/**
 * The pluggable parts of a cached image verifier ({@linkcode createCachedImageVerifier}): what is done
 * before the registry, the per-image verification and the rendering of its (cached) result.
 */
export interface ImageVerification<T> {
  /**
   * The selector values of an image that is not verified at all (a skip list), or null to verify it.
   * Asked first, before the image ID is parsed.
   */
  skipped(container: ContainerImage): string[] | null;
  /**
   * Verifies one image (the digest reference `ref`, its `imageId` as the kubelet reports it): the
   * registry calls and the checks. Its result is cached by digest reference and shared by concurrent
   * callers; `signal` ends when every caller gave up.
   */
  verify(ref: ImageReference & { readonly digest: string }, imageId: string, signal: AbortSignal): Promise<T>;
  /** The selector values of `container` from a (possibly cached) result. */
  render(verified: T, container: ContainerImage): string[];
}

/** What {@linkcode createCachedImageVerifier} needs besides the verification. */
export interface CachedImageVerifierOptions {
  /** Debug lines (cache hits, joined verifications). */
  readonly logger: Logger;
  /** Most cached images. @default {DEFAULT_CACHE_MAX_ENTRIES} */
  readonly cacheMaxEntries?: number;
  /** Cache lifetime, ms. @default {DEFAULT_CACHE_TTL_MS} */
  readonly cacheTtlMs?: number;
  /** The clock (ms), for tests. @default {performance.now} */
  readonly now?: () => number;
}

/**
 * Fetches the manifest of the image `ref` names by digest and checks its sha256 (a registry serving other
 * bytes than the digest names fails).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkImageManifest } from "./image_cache.ts";
 * const registry = { getManifest: () => Promise.resolve(null), getBlob: () => Promise.reject(new Error("unused")) };
 * const ref = { registry: "r.example", repository: "x", tag: null, digest: "sha256:" + "ab".repeat(32) };
 * await assert.rejects(checkImageManifest(registry, ref, AbortSignal.timeout(1000)), /was not found/);
 * ```
 *
 * @param registry The registry client.
 * @param ref The image, with its digest.
 * @param signal Aborts the request.
 * @throws {AttestorError} `signature-unverified` when the manifest is missing or its digest differs;
 *   `cancelled`/`deadline-exceeded` when `signal` ends.
 */
export async function checkImageManifest(
  registry: RegistryClient,
  ref: ImageReference & { readonly digest: string },
  signal: AbortSignal,
): Promise<void> {
  const image = formatImageReference({ ...ref, tag: null });
  const manifest = await registry.getManifest(ref.registry, ref.repository, ref.digest, { signal });
  if (manifest === null) throw unverified(`image ${image} was not found in its registry`);
  const actual = `sha256:${createHash("sha256").update(manifest.bytes).digest("hex")}`;
  if (actual !== ref.digest) {
    throw unverified(`the manifest served for image ${image} has digest ${actual}, not the one asked for`);
  }
  if (signal.aborted) throw abortError(signal);
}

/**
 * The machinery shared by both sigstore forms: an empty image ID fails, the skip list answers first, the
 * image ID must parse and carry a digest, results are cached by digest reference (LRU of
 * {@linkcode DEFAULT_CACHE_MAX_ENTRIES}, {@linkcode DEFAULT_CACHE_TTL_MS}), concurrent verifications of
 * one image are shared, and the last caller leaving aborts the work (an abandoned result is not cached).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCachedImageVerifier } from "./image_cache.ts";
 * import { nullLogger } from "../log.ts";
 * let calls = 0;
 * const verifier = createCachedImageVerifier<string>({
 *   skipped: () => null,
 *   verify: (ref) => { calls++; return Promise.resolve(ref.digest); },
 *   render: (digest, c) => [`${c.containerId}:${digest}`],
 * }, { logger: nullLogger });
 * const imageId = "r.example/team/app@sha256:" + "ab".repeat(32);
 * await verifier.selectorsFor({ imageId, containerId: "c1" });
 * assert.deepEqual(await verifier.selectorsFor({ imageId, containerId: "c2" }), ["c2:sha256:" + "ab".repeat(32)]);
 * assert.equal(calls, 1);
 * ```
 *
 * @param verification The skip list, the per-image verification and the rendering.
 * @param options Logger and cache settings.
 * @returns The verifier.
 */
export function createCachedImageVerifier<T>(
  verification: ImageVerification<T>,
  options: CachedImageVerifierOptions,
): SigstoreVerifier {
  const { logger } = options;
  const maxEntries = Math.max(1, Math.floor(options.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES));
  const ttlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  const now = options.now ?? (() => performance.now());
  /** LRU: a Map's insertion order, refreshed on every hit. */
  const cache = new Map<string, CacheEntry<T>>();
  const inFlight = new Map<string, InFlight<T>>();

  function cached(key: string): CacheEntry<T> | null {
    const entry = cache.get(key);
    if (entry === undefined) return null;
    cache.delete(key);
    if (now() - entry.storedAt >= ttlMs) return null;
    cache.set(key, entry);
    return entry;
  }

  function store(key: string, verified: T): void {
    cache.delete(key);
    cache.set(key, { verified, storedAt: now() });
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
  }

  /** The shared verification of `key`; the caller's signal leaves it, the last one leaving aborts it. */
  async function shared(
    key: string,
    ref: ImageReference & { readonly digest: string },
    imageId: string,
    signal?: AbortSignal,
  ): Promise<T> {
    let flight = inFlight.get(key);
    if (flight === undefined) {
      const controller = new AbortController();
      const promise = verification.verify(ref, imageId, controller.signal).then((verified) => {
        // A verification that every caller abandoned is not cached (it was aborted or may be incomplete).
        if (!controller.signal.aborted) store(key, verified);
        return verified;
      }).finally(() => {
        if (inFlight.get(key) === flight) inFlight.delete(key);
      });
      promise.catch(() => {});
      flight = { promise, controller, waiters: 0 };
      inFlight.set(key, flight);
    } else {
      logger.debug("Joining an image signature verification in progress", { image: key });
    }
    const joined = flight;
    joined.waiters++;
    try {
      return await raceAbort(joined.promise, signal);
    } finally {
      joined.waiters--;
      // The last caller gave up: stop the work (its result would be cached by no one's request).
      if (signal?.aborted && joined.waiters === 0 && !joined.controller.signal.aborted) {
        if (inFlight.get(key) === joined) inFlight.delete(key);
        joined.controller.abort(signal.reason);
      }
    }
  }

  return {
    async selectorsFor(container, signal) {
      if (signal?.aborted) throw abortError(signal);
      const { imageId, containerId } = container;
      if (imageId === "") {
        throw unverified(`container ${JSON.stringify(containerId)}: image ID is empty`);
      }
      const skipped = verification.skipped(container);
      if (skipped !== null) return skipped;
      let ref: ImageReference;
      try {
        ref = parseImageReference(imageId);
      } catch (err) {
        throw unverified(
          `cannot verify the signatures of image ID ${JSON.stringify(clip(imageId, 200))}: ${
            errorMessage(err)
          }`,
        );
      }
      if (ref.digest === null) {
        throw unverified(
          `image ID ${JSON.stringify(clip(imageId, 200))} carries no digest (a tag-only image cannot be ` +
            "verified: its content is not fixed)",
        );
      }
      const digestRef = { ...ref, digest: ref.digest };
      const key = formatImageReference({ ...ref, tag: null });
      const hit = cached(key);
      if (hit !== null) {
        logger.debug("Found cached image signature verification", {
          image: key,
          age_ms: Math.round(now() - hit.storedAt),
        });
        return verification.render(hit.verified, container);
      }
      const verified = await shared(key, digestRef, imageId, signal);
      return verification.render(verified, container);
    },
  };
}
