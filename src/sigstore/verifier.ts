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

import { type AttestorError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ImageReference, RegistryClient } from "../oci/types.ts";
import { formatImageReference } from "../oci/reference.ts";
import { abortError } from "../core/abort.ts";
import { fetchCosignSignatures, type LayerProblem } from "./cosign_layers.ts";
import { mapBounded } from "./bounded.ts";
import {
  checkImageManifest,
  clip,
  createCachedImageVerifier,
  type SigstoreVerifier,
  unverified,
} from "./image_cache.ts";

export {
  type CachedImageVerifierOptions,
  checkImageManifest,
  type ContainerImage,
  createCachedImageVerifier,
  DEFAULT_CACHE_MAX_ENTRIES,
  DEFAULT_CACHE_TTL_MS,
  type ImageVerification,
  type SigstoreVerifier,
} from "./image_cache.ts";
import {
  type SignatureCheck,
  type SignaturePolicy,
  SignatureRejected,
  type SigstoreTrust,
  type VerifiedSignature,
} from "./types.ts";

/** The selector every verified or skip-listed image gets. */
export const SIGNATURE_VERIFIED_SELECTOR = "sigstore-validation:passed";
/** Signature checks in flight for one image. */
export const CHECK_CONCURRENCY = 4;
/** Rejections listed in the error of an image none of whose signatures passed. */
export const MAX_LISTED_REJECTIONS = 10;
/** Longest text of one listed rejection. */
const MAX_REJECTION_TEXT = 300;

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
