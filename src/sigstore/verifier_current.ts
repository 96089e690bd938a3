/**
 * Sigstore verification of one container's image, the current SPIRE form (the top-level `sigstore`
 * block, SPIRE v1.15.3's `pkg/agent/common/sigstore`), on the machinery the seed form uses
 * (`verifier.ts`'s {@linkcode createCachedImageVerifier}: cache, shared verifications, abort handling):
 *
 * 1. `skipped_images` equal to the `imageID` → no sigstore selector at all, and no registry request.
 * 2. The `imageID` is parsed and must carry a digest (a tag-only image fails the attestation).
 * 3. The image manifest is fetched by digest and its sha256 checked.
 * 4. `<repo>:sha256-<hex>.sig` and (unless `ignore_attestations`) `<repo>:sha256-<hex>.att` are read
 *    (`cosign_layers.ts`; 404 → none).
 * 5. `current_selectors.ts`'s {@linkcode currentImageSelectors} checks them and gives upstream's selectors
 *    (`image-signature:verified`, `image-attestations:verified`, the per-signature details), without a
 *    container-ID prefix, as upstream.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { RegistryClient } from "../oci/types.ts";
import type { SigstoreCurrentConfig } from "../config/types.ts";
import { formatImageReference } from "../oci/reference.ts";
import { fetchCosignSignatures } from "./cosign_layers.ts";
import { currentImageSelectors, isSkippedImage } from "./current_selectors.ts";
import { createIdentityMatcher } from "./identity.ts";
import type { SigstoreTrust } from "./types.ts";
import { checkImageManifest, createCachedImageVerifier, type SigstoreVerifier } from "./verifier.ts";

/** What {@linkcode createCurrentSigstoreVerifier} needs. */
export interface CurrentSigstoreVerifierOptions {
  /** The block's settings. */
  readonly settings: SigstoreCurrentConfig;
  /** The trust material loaded at Configure. */
  readonly trust: SigstoreTrust;
  /** Reads manifests and blobs (with the block's `registry_credentials`). */
  readonly registry: RegistryClient;
  /** Debug lines. */
  readonly logger: Logger;
  /** Most cached images. @default {DEFAULT_CACHE_MAX_ENTRIES} */
  readonly cacheMaxEntries?: number;
  /** Cache lifetime, ms. @default {DEFAULT_CACHE_TTL_MS} */
  readonly cacheTtlMs?: number;
  /** The cache clock (ms), for tests. */
  readonly now?: () => number;
  /** The `fetch` of the Rekor lookups (tests). */
  readonly fetch?: typeof fetch;
}

/**
 * Creates the verifier of one configuration of the top-level `sigstore` block (its cache lives and dies
 * with it).
 *
 * @example A skipped image gets no selector and no registry request
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCurrentSigstoreVerifier } from "./verifier_current.ts";
 * import { nullLogger } from "../log.ts";
 * const imageId = "ghcr.io/x/y@sha256:" + "ab".repeat(32);
 * const verifier = createCurrentSigstoreVerifier({
 *   settings: { allowedIdentities: new Map([["https://issuer", ["me@example.com"]]]), skippedImages: [imageId],
 *     rekorUrl: "https://rekor.example", ignoreSct: false, ignoreTlog: false, ignoreAttestations: false,
 *     registryCredentials: new Map(), ignoredCredentials: [] },
 *   trust: { fulcioRoots: [], fulcioIntermediates: [], rekorKeys: [], ctLogKeys: [], source: "test" },
 *   registry: { getManifest: () => Promise.reject(new Error("unused")), getBlob: () => Promise.reject(new Error("unused")) },
 *   logger: nullLogger,
 * });
 * assert.deepEqual(await verifier.selectorsFor({ imageId, containerId: "containerd://1" }), []);
 * ```
 *
 * @param options Settings, trust, the registry client and a logger.
 * @returns The verifier. Its {@linkcode SigstoreVerifier.selectorsFor} is asked about the matched container
 *   even with `disable_container_selectors` (as upstream).
 */
export function createCurrentSigstoreVerifier(options: CurrentSigstoreVerifierOptions): SigstoreVerifier {
  const { settings, trust, registry, logger } = options;
  const identities = createIdentityMatcher(settings.allowedIdentities);
  const verifier = createCachedImageVerifier<readonly string[]>({
    skipped({ imageId }) {
      if (!isSkippedImage(settings, imageId)) return null;
      logger.debug("Image is in the sigstore skipped_images list", { image_id: imageId });
      return [];
    },
    async verify(ref, imageId, signal) {
      const image = formatImageReference({ ...ref, tag: null });
      const started = performance.now();
      await checkImageManifest(registry, ref, signal);
      const [signatures, attestations] = await Promise.all([
        fetchCosignSignatures(registry, ref.registry, ref.repository, ref.digest, { signal }),
        settings.ignoreAttestations ? Promise.resolve(null) : fetchCosignSignatures(
          registry,
          ref.registry,
          ref.repository,
          ref.digest,
          { signal, kind: "attestation" },
        ),
      ]);
      const selectors = await currentImageSelectors(
        { imageId, imageDigest: ref.digest, signatures, attestations },
        { settings, trust, identities, signal, ...(options.fetch ? { fetch: options.fetch } : {}) },
      );
      logger.debug("Verified image signatures", {
        image,
        signatures: signatures?.signatures.length ?? 0,
        attestations: attestations?.signatures.length ?? 0,
        duration_ms: Math.round(performance.now() - started),
      });
      return Object.freeze(selectors);
    },
    render: (selectors) => [...selectors],
  }, options);
  return { ...verifier, askedWithoutContainerSelectors: true };
}
