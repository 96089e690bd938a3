/**
 * Sigstore verification of one container's image (the seed's `experimental.sigstore`, SPIRE v1.9.6's
 * `AttestContainerSignatures`): skip list → cache → registry → per-signature checks → selectors.
 *
 * For a container with `imageID` and `containerID` (exactly as the kubelet reports them):
 * 1. An empty `imageID` fails (`signature-unverified "… image ID is empty"`).
 * 2. Skip list: the full `imageID` equal to an entry, or its `sha256:<hex>` digest equal to an entry →
 *    only `sigstore-validation:passed`, with no registry request.
 * 3. The `imageID` is parsed (`src/oci/reference.ts`) and must carry a digest: a tag-only image fails the
 *    whole attestation (`signature-unverified`).
 * 4. Cache (see {@linkcode DEFAULT_CACHE_MAX_ENTRIES}, {@linkcode DEFAULT_CACHE_TTL_MS}) keyed by
 *    `registry/repository@digest`; concurrent attestations of one image share one verification.
 * 5. The image manifest is fetched by digest (its sha256 checked again here), then `<repo>:sha256-<hex>.sig`
 *    (404 or no layers: `no signatures found for image …`); every signature is checked with the injected
 *    {@linkcode SignatureCheck} (at most {@linkcode CHECK_CONCURRENCY} at once). None passing →
 *    `signature-unverified` listing why each was rejected (bounded text).
 * 6. Per verified signature: `<containerID>:image-signature-subject:<s>`, `…:image-signature-content:<c>`,
 *    `…:image-signature-logid:<hex>`, `…:image-signature-integrated-time:<n>` (empty values omitted, as
 *    upstream), then `sigstore-validation:passed` once.
 *
 * Differences from upstream v1.9.6, on purpose: no signature passing fails the attestation (upstream
 * returns no sigstore selectors and succeeds); the skip list also matches the bare digest; the cache is
 * keyed by the digest reference, holds up to 256 images for at most 10 minutes, and in-flight verifications
 * are shared (upstream: an LRU of 10 image IDs without expiry, no sharing); `docker-pullable://` image IDs
 * are read (upstream fails to parse them).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { AttestorError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ImageReference, RegistryClient } from "../oci/types.ts";
import { formatImageReference, parseImageReference } from "../oci/reference.ts";
import { abortError, raceAbort } from "../core/abort.ts";
import { fetchCosignSignatures, type LayerProblem } from "./cosign_layers.ts";
import { mapBounded } from "./bounded.ts";
import {
  type SignatureCheck,
  type SignaturePolicy,
  SignatureRejected,
  type SigstoreTrust,
  type VerifiedSignature,
} from "./types.ts";

/** The selector every verified or skip-listed image gets. */
export const SIGNATURE_VERIFIED_SELECTOR = "sigstore-validation:passed";
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
/** Signature checks in flight for one image. */
export const CHECK_CONCURRENCY = 4;
/** Rejections listed in the error of an image none of whose signatures passed. */
export const MAX_LISTED_REJECTIONS = 10;
/** Longest text of one listed rejection. */
const MAX_REJECTION_TEXT = 300;

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

/** The settings of the `experimental.sigstore` block that the verifier uses. */
export interface VerifierSettings {
  /** `skip_signature_verification_image_list`. */
  readonly skipSignatureVerificationImageList: readonly string[];
  /** `allowed_subjects_list`. */
  readonly allowedSubjects: ReadonlyMap<string, readonly string[]>;
  /** `rekor_url`. */
  readonly rekorUrl: string;
  /** `enforce_sct`. */
  readonly enforceSct: boolean;
}

/** What {@linkcode createSigstoreVerifier} needs. */
export interface SigstoreVerifierOptions {
  /** The block's settings. */
  readonly settings: VerifierSettings;
  /** The trust material loaded at Configure. */
  readonly trust: SigstoreTrust;
  /** Reads manifests and blobs. */
  readonly registry: RegistryClient;
  /** Checks one signature. */
  readonly checkSignature: SignatureCheck;
  /** Debug lines (cache hits, verification cost) and warnings. */
  readonly logger: Logger;
  /** Most cached images. @default {DEFAULT_CACHE_MAX_ENTRIES} */
  readonly cacheMaxEntries?: number;
  /** Cache lifetime, ms. @default {DEFAULT_CACHE_TTL_MS} */
  readonly cacheTtlMs?: number;
  /** The clock (ms), for tests. @default {performance.now} */
  readonly now?: () => number;
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

function unverified(message: string): AttestorError {
  return new AttestorError("signature-unverified", message);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The `sha256:<hex>` digest `imageId` names (after an `@`, or the whole ID), or null. */
function digestOf(imageId: string): string | null {
  const m = /(?:^|@)(sha256:[a-f0-9]{64})$/.exec(imageId);
  return m === null ? null : m[1];
}

/**
 * The selector values of verified signatures for one container: four per signature (empty values
 * omitted), then {@linkcode SIGNATURE_VERIFIED_SELECTOR}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderSelectors } from "./verifier.ts";
 * const v = { layerDigest: "sha256:x", subject: "me@example.com", issuer: "https://issuer", content: "MEUC",
 *   logId: "c0d2", integratedTime: 1700000000 };
 * assert.deepEqual(renderSelectors([v], "containerd://abc"), [
 *   "containerd://abc:image-signature-subject:me@example.com",
 *   "containerd://abc:image-signature-content:MEUC",
 *   "containerd://abc:image-signature-logid:c0d2",
 *   "containerd://abc:image-signature-integrated-time:1700000000",
 *   "sigstore-validation:passed",
 * ]);
 * ```
 *
 * @param verified The verified signatures.
 * @param containerId The container's `containerID` as the kubelet reports it.
 * @returns The values, unsorted.
 */
export function renderSelectors(verified: readonly VerifiedSignature[], containerId: string): string[] {
  const out: string[] = [];
  for (const v of verified) {
    if (v.subject !== "") out.push(`${containerId}:image-signature-subject:${v.subject}`);
    if (v.content !== "") out.push(`${containerId}:image-signature-content:${v.content}`);
    if (v.logId !== "") out.push(`${containerId}:image-signature-logid:${v.logId}`);
    if (v.integratedTime !== 0) {
      out.push(`${containerId}:image-signature-integrated-time:${v.integratedTime}`);
    }
  }
  out.push(SIGNATURE_VERIFIED_SELECTOR);
  return out;
}

/** The error of an image none of whose signatures passed, listing (a bounded number of) the reasons. */
function noneVerified(image: string, rejections: readonly LayerProblem[]): AttestorError {
  const listed = rejections.slice(0, MAX_LISTED_REJECTIONS).map((r) =>
    `${r.layerDigest}: ${clip(r.reason, MAX_REJECTION_TEXT)}`
  );
  const more = rejections.length > listed.length ? `; and ${rejections.length - listed.length} more` : "";
  return unverified(
    `no signature of image ${image} passed verification (${rejections.length} rejected): ${
      listed.join("; ")
    }${more}`,
  );
}

/**
 * Creates the verifier of one configuration (its cache lives and dies with it).
 *
 * @example The skip list answers without the registry
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSigstoreVerifier } from "./verifier.ts";
 * import { nullLogger } from "../log.ts";
 * const digest = "sha256:" + "ab".repeat(32);
 * const verifier = createSigstoreVerifier({
 *   settings: { skipSignatureVerificationImageList: [digest], allowedSubjects: new Map(),
 *     rekorUrl: "https://rekor.example/", enforceSct: true },
 *   trust: { fulcioRoots: [], fulcioIntermediates: [], rekorKeys: [], ctLogKeys: [], source: "test" },
 *   registry: { getManifest: () => Promise.reject(new Error("unused")), getBlob: () => Promise.reject(new Error("unused")) },
 *   checkSignature: () => Promise.reject(new Error("unused")),
 *   logger: nullLogger,
 * });
 * assert.deepEqual(
 *   await verifier.selectorsFor({ imageId: `ghcr.io/x/y@${digest}`, containerId: "containerd://1" }),
 *   ["sigstore-validation:passed"],
 * );
 * ```
 *
 * @param options Settings, trust, the registry client, the signature check and a logger.
 * @returns The verifier.
 */
export function createSigstoreVerifier(options: SigstoreVerifierOptions): SigstoreVerifier {
  const { settings, trust, registry, checkSignature, logger } = options;
  const skip = new Set(settings.skipSignatureVerificationImageList);
  const policy: SignaturePolicy = Object.freeze({
    allowedSubjects: settings.allowedSubjects,
    enforceSct: settings.enforceSct,
  });

  async function verifyImage(
    ref: ImageReference & { readonly digest: string },
    _imageId: string,
    signal: AbortSignal,
  ): Promise<readonly VerifiedSignature[]> {
    const digest = ref.digest;
    const image = formatImageReference({ ...ref, tag: null });
    const started = performance.now();
    await checkImageManifest(registry, ref, signal);
    const set = await fetchCosignSignatures(registry, ref.registry, ref.repository, digest, { signal });
    if (set === null || set.signatures.length + set.problems.length === 0) {
      throw unverified(`no signatures found for image ${image}`);
    }
    const rejections: LayerProblem[] = [...set.problems];
    const context = { trust, policy, imageDigest: digest, rekorUrl: settings.rekorUrl, signal };
    const outcomes = await mapBounded(set.signatures, CHECK_CONCURRENCY, async (signature) => {
      if (signal.aborted) throw abortError(signal);
      try {
        return await checkSignature(signature, context);
      } catch (err) {
        if (signal.aborted) throw abortError(signal);
        const reason = err instanceof SignatureRejected
          ? `${err.rejection}: ${err.message}`
          : errorMessage(err);
        rejections.push({ layerDigest: signature.layerDigest, reason });
        return null;
      }
    });
    const verified = outcomes.filter((v): v is VerifiedSignature => v !== null);
    logger.debug("Verified image signatures", {
      image,
      signatures: set.signatures.length + set.problems.length,
      verified: verified.length,
      duration_ms: Math.round(performance.now() - started),
    });
    if (verified.length === 0) throw noneVerified(image, rejections);
    if (rejections.length > 0) {
      logger.debug("Some image signatures were rejected", {
        image,
        rejected: rejections.length,
        first: clip(`${rejections[0].layerDigest}: ${rejections[0].reason}`, MAX_REJECTION_TEXT),
      });
    }
    return Object.freeze(verified);
  }

  return createCachedImageVerifier<readonly VerifiedSignature[]>({
    skipped({ imageId }) {
      const bare = digestOf(imageId);
      if (skip.has(imageId) || (bare !== null && skip.has(bare))) {
        logger.debug("Image is in the signature verification skip list", { image_id: imageId });
        return [SIGNATURE_VERIFIED_SELECTOR];
      }
      return null;
    },
    verify: verifyImage,
    render: (verified, container) => renderSelectors(verified, container.containerId),
  }, options);
}

/**
 * Fetches the manifest of the image `ref` names by digest and checks its sha256 (a registry serving other
 * bytes than the digest names fails).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkImageManifest } from "./verifier.ts";
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
 * import { createCachedImageVerifier } from "./verifier.ts";
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
