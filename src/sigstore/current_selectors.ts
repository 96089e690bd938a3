/**
 * The selectors of one image for the current SPIRE form (top-level `sigstore { … }`), exactly as SPIRE
 * v1.15.3 `ImageVerifier.Verify` (`pkg/agent/common/sigstore/sigstore.go`) makes them, from the cosign
 * signatures (`.sig` tag) and attestations (`.att` tag) that the caller fetched:
 *
 * 1. an image ID listed in `skipped_images` (exact string) → no selectors and no error (the caller should
 *    test {@linkcode isSkippedImage} first and not contact the registry);
 * 2. every signature is checked (`verify_current.ts`); none passing fails the image
 *    (`failed to verify signatures: no signatures found` / `… no matching signatures: <why each failed>`);
 * 3. unless `ignore_attestations`, every attestation is checked; none passing (a missing `.att` tag
 *    included, as upstream: cosign answers `no matching attestations`) fails the image;
 * 4. selectors, in upstream's order: `image-signature:verified`, then `image-attestations:verified` unless
 *    attestations are ignored, then for each verified signature in manifest order
 *    `image-signature-subject:<first SAN>`, `image-signature-issuer:<issuer>`,
 *    `image-signature-value:<signature annotation>` and, unless `ignore_tlog`, `image-signature-log-id:<hex>`,
 *    `image-signature-log-index:<n>`, `image-signature-integrated-time:<unix seconds>`,
 *    `image-signature-signed-entry-timestamp:<standard base64 SET>`;
 * 5. as upstream, a verified signature whose certificate has no non-empty subject or an absent or empty
 *    issuer fails the whole image (`failed to extract details from signatures …`).
 *
 * Every failure is an `AttestorError` `signature-unverified` (the plugin answers INTERNAL, as upstream).
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import type { IdentityMatcher } from "./identity.ts";
import { type CosignSignature, SignatureRejected, type SigstoreTrust } from "./types.ts";
import {
  type CurrentCheckContext,
  type CurrentVerified,
  type CurrentVerifiedAttestation,
  type CurrentVerifiedSignature,
  verifyCurrentAttestation,
  verifyCurrentSignature,
} from "./verify_current.ts";

/** Every image that passes gets this selector. */
export const IMAGE_SIGNATURE_VERIFIED = "image-signature:verified";
/** An image with a verified attestation gets this selector (unless attestations are ignored). */
export const IMAGE_ATTESTATIONS_VERIFIED = "image-attestations:verified";
/** Signatures or attestations checked at once. */
export const CURRENT_CHECK_CONCURRENCY = 4;
/** Reasons listed in the error of an image none of whose signatures (or attestations) passed. */
export const MAX_LISTED_REASONS = 10;
const MAX_REASON_TEXT = 300;

/** The settings of the top-level `sigstore` block that this module uses (`SigstoreCurrentConfig` has them). */
export interface CurrentImageSettings {
  /** `skipped_images`. */
  readonly skippedImages: readonly string[];
  /** `ignore_sct`. */
  readonly ignoreSct: boolean;
  /** `ignore_tlog`. */
  readonly ignoreTlog: boolean;
  /** `ignore_attestations`. */
  readonly ignoreAttestations: boolean;
  /** `rekor_url`. */
  readonly rekorUrl: string;
}

/** A layer the fetcher could not use, and why (structurally `cosign_layers.ts`'s `LayerProblem`). */
export interface CurrentLayerProblem {
  /** The layer's digest. */
  readonly layerDigest: string;
  /** What is wrong with it. */
  readonly reason: string;
}

/** The layers of one `.sig` or `.att` manifest (structurally `cosign_layers.ts`'s `CosignSignatureSet`). */
export interface CurrentLayerSet {
  /** The layers read, in manifest order. */
  readonly signatures: readonly CosignSignature[];
  /** Layers that could not be used (listed in the error when nothing passes). */
  readonly problems?: readonly CurrentLayerProblem[];
}

/** One image and what the registry gave for it. */
export interface CurrentImageEvidence {
  /** `imageID` exactly as the kubelet reports it (names the image in errors; the skip-list key). */
  readonly imageId: string;
  /** The digest the image ID names (`sha256:<hex>`). */
  readonly imageDigest: string;
  /** The `.sig` manifest's layers, or null when there is none (404). */
  readonly signatures: CurrentLayerSet | null;
  /** The `.att` manifest's layers, or null when there is none or attestations are ignored (not fetched). */
  readonly attestations: CurrentLayerSet | null;
}

/** What the checks need besides the evidence. */
export interface CurrentImageOptions {
  /** The block's settings. */
  readonly settings: CurrentImageSettings;
  /** The trust material loaded at Configure. */
  readonly trust: SigstoreTrust;
  /** `allowed_identities`, compiled (`createIdentityMatcher`). */
  readonly identities: IdentityMatcher;
  /** Aborts the Rekor lookups. */
  readonly signal?: AbortSignal;
  /** The clock of the `ignore_tlog` validity check (tests). */
  readonly now?: () => Date;
  /** The `fetch` of the Rekor lookups (tests). */
  readonly fetch?: typeof fetch;
}

/**
 * Whether `imageId` is in `skipped_images` (exact string, as upstream: no digest-only match).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSkippedImage } from "./current_selectors.ts";
 * const id = "registry.example/app@sha256:" + "a".repeat(64);
 * assert.equal(isSkippedImage({ skippedImages: [id] }, id), true);
 * assert.equal(isSkippedImage({ skippedImages: [id] }, "sha256:" + "a".repeat(64)), false);
 * ```
 *
 * @param settings The block's `skippedImages`.
 * @param imageId The image ID as the kubelet reports it.
 * @returns True when verification is skipped.
 */
export function isSkippedImage(
  settings: Pick<CurrentImageSettings, "skippedImages">,
  imageId: string,
): boolean {
  return settings.skippedImages.includes(imageId);
}

function unverified(message: string): AttestorError {
  return new AttestorError("signature-unverified", message);
}

async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Checks every layer; a rejection is kept as a reason, anything else (an abort) is thrown. */
async function checkAll<T extends CurrentVerified>(
  layers: readonly CosignSignature[],
  check: (layer: CosignSignature) => Promise<T>,
): Promise<Outcome<T>[]> {
  return await mapPool(layers, CURRENT_CHECK_CONCURRENCY, async (layer): Promise<Outcome<T>> => {
    try {
      return { ok: true, value: await check(layer) };
    } catch (err) {
      if (err instanceof SignatureRejected) {
        return { ok: false, reason: `${layer.layerDigest}: ${err.message}`.slice(0, MAX_REASON_TEXT) };
      }
      throw err;
    }
  });
}

function reasons(outcomes: Outcome<unknown>[], problems: readonly CurrentLayerProblem[] = []): string {
  const all = [
    ...problems.map((p) => `${p.layerDigest}: ${p.reason}`.slice(0, MAX_REASON_TEXT)),
    ...outcomes.flatMap((o) => o.ok ? [] : [o.reason]),
  ];
  const listed = all.slice(0, MAX_LISTED_REASONS).join("; ");
  return all.length > MAX_LISTED_REASONS ? `${listed}; and ${all.length - MAX_LISTED_REASONS} more` : listed;
}

/** Upstream's `extractSignatureDetails` checks on a verified signature. */
function detailProblem(sig: CurrentVerified): string | null {
  if (sig.subject === "") {
    return "failed to extract subject from certificate: no subject found in certificate";
  }
  if (sig.issuer === null) {
    return "failed to extract issuer from certificate: no OIDC issuer found in certificate extensions";
  }
  if (sig.issuer === "") {
    return "failed to extract issuer from certificate: OIDC issuer extension is present but empty";
  }
  return null;
}

/**
 * The selector values of one verified signature, in upstream's order (empty values omitted, as upstream).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signatureSelectors } from "./current_selectors.ts";
 * const sig = { layerDigest: "sha256:" + "0".repeat(64), subject: "s@example.com", issuer: "https://i.example",
 *   value: "MEUC", tlog: null };
 * assert.deepEqual(signatureSelectors(sig), [
 *   "image-signature-subject:s@example.com",
 *   "image-signature-issuer:https://i.example",
 *   "image-signature-value:MEUC",
 * ]);
 * ```
 *
 * @param sig A verified signature.
 * @returns The selector values.
 */
export function signatureSelectors(sig: CurrentVerifiedSignature): string[] {
  const out: string[] = [];
  if (sig.subject !== "") out.push(`image-signature-subject:${sig.subject}`);
  if (sig.issuer) out.push(`image-signature-issuer:${sig.issuer}`);
  if (sig.value !== "") out.push(`image-signature-value:${sig.value}`);
  if (sig.tlog) {
    out.push(
      `image-signature-log-id:${sig.tlog.logId}`,
      `image-signature-log-index:${sig.tlog.logIndex}`,
      `image-signature-integrated-time:${sig.tlog.integratedTime}`,
    );
    if (sig.tlog.signedEntryTimestamp !== "") {
      out.push(`image-signature-signed-entry-timestamp:${sig.tlog.signedEntryTimestamp}`);
    }
  }
  return out;
}

/**
 * The current form's selector values of one image (see the module documentation).
 *
 * @example
 * ```ts ignore
 * import { createIdentityMatcher } from "./identity.ts";
 * import { currentImageSelectors } from "./current_selectors.ts";
 * const selectors = await currentImageSelectors(
 *   { imageId, imageDigest, signatures: sigSet, attestations: attSet },
 *   { settings: config.sigstoreCurrent, trust, identities: createIdentityMatcher(config.sigstoreCurrent.allowedIdentities) },
 * );
 * ```
 *
 * @param evidence The image and its fetched `.sig` and `.att` layers.
 * @param options Settings, trust and identities.
 * @returns The selector values (empty for a skipped image).
 * @throws {AttestorError} `signature-unverified` naming why; an abort's `AttestorError` as is.
 */
export async function currentImageSelectors(
  evidence: CurrentImageEvidence,
  options: CurrentImageOptions,
): Promise<string[]> {
  const { settings } = options;
  if (isSkippedImage(settings, evidence.imageId)) return [];
  const context: CurrentCheckContext = {
    trust: options.trust,
    identities: options.identities,
    ignoreSct: settings.ignoreSct,
    ignoreTlog: settings.ignoreTlog,
    imageDigest: evidence.imageDigest,
    rekorUrl: settings.rekorUrl,
    signal: options.signal,
    now: options.now,
    fetch: options.fetch,
  };
  const image = JSON.stringify(evidence.imageId);

  const sigLayers = evidence.signatures?.signatures ?? [];
  const sigProblems = evidence.signatures?.problems ?? [];
  if (sigLayers.length === 0 && sigProblems.length === 0) {
    throw unverified(`failed to verify signatures for image ${image}: no signatures found`);
  }
  const sigOutcomes = await checkAll(sigLayers, (s) => verifyCurrentSignature(s, context));
  const verified = sigOutcomes.flatMap((o) => o.ok ? [o.value] : []);
  if (verified.length === 0) {
    throw unverified(
      `failed to verify signatures for image ${image}: no matching signatures: ${
        reasons(sigOutcomes, sigProblems)
      }`,
    );
  }

  const selectors = [IMAGE_SIGNATURE_VERIFIED];
  if (!settings.ignoreAttestations) {
    const attLayers = evidence.attestations?.signatures ?? [];
    const attProblems = evidence.attestations?.problems ?? [];
    const attOutcomes: Outcome<CurrentVerifiedAttestation>[] = await checkAll(
      attLayers,
      (a) => verifyCurrentAttestation(a, context),
    );
    if (!attOutcomes.some((o) => o.ok)) {
      const why = attLayers.length === 0 && attProblems.length === 0
        ? "no attestations found"
        : reasons(attOutcomes, attProblems);
      throw unverified(
        `failed to verify image attestations for image ${image}: no matching attestations: ${why}`,
      );
    }
    selectors.push(IMAGE_ATTESTATIONS_VERIFIED);
  }

  for (const sig of verified) {
    const problem = detailProblem(sig);
    if (problem) throw unverified(`failed to extract details from signatures for image ${image}: ${problem}`);
    selectors.push(...signatureSelectors(sig));
  }
  return selectors;
}
