/**
 * Reads cosign's legacy signature format: the manifest tagged `<repo>:sha256-<hex>.sig` holds one layer per
 * signature; each layer blob is the simple-signing payload and the layer's annotations carry the signature,
 * the certificate, the chain and the Rekor bundle (cosign `specs/SIGNATURE_SPEC.md`).
 *
 * Limits (cosign v2.2 in parentheses):
 * - at most {@linkcode MAX_SIGNATURE_LAYERS} layers, else the manifest is refused (cosign: the same 1000);
 * - each payload at most {@linkcode MAX_PAYLOAD_BYTES} (1 MiB; cosign: `COSIGN_MAX_ATTACHMENT_SIZE`, 128 MiB
 *   by default). A simple-signing payload is a few hundred bytes, so 1 MiB leaves ample room while a
 *   manifest of 1000 layers cannot make the plugin hold more than 16 MiB of payloads at once
 *   ({@linkcode MAX_TOTAL_PAYLOAD_BYTES}); a layer declared larger than the cap is a rejected signature,
 *   never fetched;
 * - only `application/vnd.dev.cosign.simplesigning.v1+json` layers are signatures (cosign reads any layer
 *   and fails it later): a layer of another media type, or one without a signature annotation, is a
 *   rejected signature with a clear reason, not a fatal error, so one junk layer cannot hide the others.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import type { FetchedManifest, RegistryClient } from "../oci/types.ts";
import type { CosignSignature } from "./types.ts";
import { mapBounded } from "./bounded.ts";

/** The media type of a cosign simple-signing layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** Docker v2 schema 2 manifest (older cosign). */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
/** The annotation holding the base64 signature. */
/** The media type of an attestation layer (`.att` tag): a DSSE envelope. */
export const DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
/** The annotation holding the PEM leaf certificate. */
export const CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate";
/** The annotation holding the PEM chain. */
export const CHAIN_ANNOTATION = "dev.sigstore.cosign/chain";
/** The annotation holding the Rekor bundle JSON. */
export const BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle";
/** Most layers (signatures) in one `.sig` manifest, as cosign. */
export const MAX_SIGNATURE_LAYERS = 1000;
/** Largest payload fetched, bytes. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Largest sum of the declared payload sizes of one manifest, bytes. */
export const MAX_TOTAL_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** Payload downloads in flight for one manifest. */
export const BLOB_CONCURRENCY = 4;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** One layer of a signature manifest, before its blob is fetched. */
export interface SignatureLayer {
  /** `sha256:<hex>` of the blob. */
  readonly digest: string;
  /** The declared size, bytes. */
  readonly size: number;
  /** The layer's media type. */
  readonly mediaType: string;
  /** The layer's annotations (string values only). */
  readonly annotations: ReadonlyMap<string, string>;
}

/** A layer that is not a usable signature, and why. */
export interface LayerProblem {
  /** The layer's digest (or `layer <n>` when it has no valid digest). */
  readonly layerDigest: string;
  /** What is wrong with it. */
  readonly reason: string;
}

/** The signatures of one `.sig` manifest: those read, and the layers that could not be used. */
export interface CosignSignatureSet {
  /** Signatures whose payload was fetched. */
  readonly signatures: readonly CosignSignature[];
  /** Layers that are not usable signatures. */
  readonly problems: readonly LayerProblem[];
}

function malformed(where: string, why: string): AttestorError {
  return new AttestorError("signature-unverified", `malformed cosign signature manifest ${where}: ${why}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The tag of the signatures of the image with `digest`: `sha256-<hex>.sig`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signatureTag } from "./cosign_layers.ts";
 * assert.equal(signatureTag("sha256:" + "ab".repeat(32)), "sha256-" + "ab".repeat(32) + ".sig");
 * ```
 *
 * @param digest `sha256:<hex>`.
 * @returns The tag.
 */
export function signatureTag(digest: string): string {
  if (!DIGEST.test(digest)) throw new AttestorError("signature-unverified", `not a sha256 digest: ${digest}`);
  return `sha256-${digest.slice(7)}.sig`;
}

/**
 * The tag of the attestations of the image with `digest`: `sha256-<hex>.att`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attestationTag } from "./cosign_layers.ts";
 * assert.equal(attestationTag("sha256:" + "ab".repeat(32)), "sha256-" + "ab".repeat(32) + ".att");
 * ```
 *
 * @param digest `sha256:<hex>`.
 * @returns The tag.
 */
export function attestationTag(digest: string): string {
  return `${signatureTag(digest).slice(0, -4)}.att`;
}

/**
 * Parses a `.sig` manifest into its layers. Refused (an `AttestorError` `signature-unverified` naming the
 * problem): not JSON, not an object, an image index or manifest list, a media type other than an OCI or
 * Docker v2 image manifest, `schemaVersion` other than 2, `layers` not a list, more than
 * {@linkcode MAX_SIGNATURE_LAYERS} layers, a layer that is not an object or has no valid sha256 digest or
 * size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSignatureManifest, SIMPLE_SIGNING_MEDIA_TYPE } from "./cosign_layers.ts";
 * const digest = "sha256:" + "0".repeat(64);
 * const body = { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   layers: [{ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest, size: 10,
 *     annotations: { "dev.cosignproject.cosign/signature": "MEUC" } }] };
 * const bytes = new TextEncoder().encode(JSON.stringify(body));
 * const layers = parseSignatureManifest({ bytes, mediaType: "application/vnd.oci.image.manifest.v1+json", digest }, "x");
 * assert.equal(layers[0].annotations.get("dev.cosignproject.cosign/signature"), "MEUC");
 * ```
 *
 * @param manifest The fetched manifest.
 * @param where Names the manifest in errors (e.g. `ghcr.io/x:sha256-….sig`).
 * @returns The layers in manifest order.
 */
export function parseSignatureManifest(manifest: FetchedManifest, where: string): SignatureLayer[] {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(manifest.bytes));
  } catch (err) {
    throw malformed(where, `not UTF-8 JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isRecord(body)) throw malformed(where, "not a JSON object");
  const declared = typeof body.mediaType === "string" ? body.mediaType : null;
  if (
    INDEX_TYPES.has(manifest.mediaType) || (declared !== null && INDEX_TYPES.has(declared)) ||
    "manifests" in body
  ) {
    throw malformed(where, "an image index or manifest list, not an image manifest");
  }
  const served = manifest.mediaType === OCI_MANIFEST || manifest.mediaType === DOCKER_MANIFEST
    ? manifest.mediaType
    : null;
  if (declared !== null && declared !== OCI_MANIFEST && declared !== DOCKER_MANIFEST) {
    throw malformed(where, `unsupported media type ${JSON.stringify(declared.slice(0, 100))}`);
  }
  if (declared !== null && served !== null && declared !== served) {
    throw malformed(where, `served as ${served} but declares ${declared}`);
  }
  if (declared === null && served === null) {
    throw malformed(
      where,
      `unsupported media type ${JSON.stringify(manifest.mediaType.slice(0, 100))} (an OCI or Docker v2 ` +
        "image manifest is expected)",
    );
  }
  if (body.schemaVersion !== 2) throw malformed(where, "schemaVersion is not 2");
  if (!Array.isArray(body.layers)) throw malformed(where, "layers is not a list");
  if (body.layers.length > MAX_SIGNATURE_LAYERS) {
    throw malformed(where, `${body.layers.length} layers, more than the ${MAX_SIGNATURE_LAYERS} allowed`);
  }
  return body.layers.map((layer: unknown, i: number): SignatureLayer => {
    if (!isRecord(layer)) throw malformed(where, `layer ${i} is not an object`);
    const { digest, size, mediaType, annotations } = layer;
    if (typeof digest !== "string" || !DIGEST.test(digest)) {
      throw malformed(where, `layer ${i} has no valid sha256 digest`);
    }
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw malformed(where, `layer ${i} (${digest}) has no valid size`);
    }
    if (annotations !== undefined && annotations !== null && !isRecord(annotations)) {
      throw malformed(where, `layer ${i} (${digest}) has annotations that are not an object`);
    }
    const map = new Map<string, string>();
    for (const [k, v] of Object.entries(annotations ?? {})) if (typeof v === "string") map.set(k, v);
    return { digest, size, mediaType: typeof mediaType === "string" ? mediaType : "", annotations: map };
  });
}

/** Why `layer` cannot be a signature, or null when it can. */
function layerProblem(layer: SignatureLayer, maxPayloadBytes: number, kind: CosignLayerKind): string | null {
  const expected = kind === "attestation" ? DSSE_MEDIA_TYPE : SIMPLE_SIGNING_MEDIA_TYPE;
  if (layer.mediaType !== expected) {
    return `media type ${JSON.stringify(layer.mediaType.slice(0, 100))} is not ${expected}`;
  }
  // An attestation's signature is inside its DSSE envelope; cosign leaves the annotation empty.
  if (kind === "signature" && !layer.annotations.get(SIGNATURE_ANNOTATION)) {
    return `no ${SIGNATURE_ANNOTATION} annotation`;
  }
  if (layer.size > maxPayloadBytes) {
    return `payload of ${layer.size} bytes is over the ${maxPayloadBytes}-byte limit`;
  }
  return null;
}

/** Options of {@linkcode fetchCosignSignatures}. */
/** What a cosign tag holds: signatures (`.sig`, simple signing payloads) or attestations (`.att`, DSSE envelopes). */
export type CosignLayerKind = "signature" | "attestation";

export interface FetchSignaturesOptions {
  /**
   * Which tag is read: `sha256-<hex>.sig` (layers of type {@linkcode SIMPLE_SIGNING_MEDIA_TYPE} with a
   * signature annotation) or `sha256-<hex>.att` (layers of type {@linkcode DSSE_MEDIA_TYPE}, the signature
   * annotation may be empty or absent, the payload is the envelope). @default {"signature"}
   */
  readonly kind?: CosignLayerKind;
  /** Aborts the registry calls. */
  readonly signal?: AbortSignal;
  /** Largest payload fetched. @default {MAX_PAYLOAD_BYTES} */
  readonly maxPayloadBytes?: number;
}

/**
 * Fetches the cosign signatures of the image `registry/repository@digest`: the `.sig` manifest, then the
 * payload of each usable layer (digest and size checked by the registry client).
 *
 * @param client The registry client.
 * @param registry The image's registry.
 * @param repository The image's repository.
 * @param digest The image's digest (`sha256:<hex>`).
 * @param options Signal and limits.
 * @returns The signatures and the layer problems, or null when there is no `.sig` manifest (404).
 * @throws {AttestorError} `signature-unverified` for a malformed manifest; the client's `registry-failed`.
 */
export async function fetchCosignSignatures(
  client: RegistryClient,
  registry: string,
  repository: string,
  digest: string,
  options: FetchSignaturesOptions = {},
): Promise<CosignSignatureSet | null> {
  const { signal, maxPayloadBytes = MAX_PAYLOAD_BYTES, kind = "signature" } = options;
  const tag = kind === "attestation" ? attestationTag(digest) : signatureTag(digest);
  const where = `${registry}/${repository}:${tag}`;
  const manifest = await client.getManifest(registry, repository, tag, { signal });
  if (manifest === null) return null;
  const layers = parseSignatureManifest(manifest, where);
  const problems: LayerProblem[] = [];
  const usable: SignatureLayer[] = [];
  for (const layer of layers) {
    const problem = layerProblem(layer, maxPayloadBytes, kind);
    if (problem === null) usable.push(layer);
    else problems.push({ layerDigest: layer.digest, reason: problem });
  }
  const total = usable.reduce((sum, layer) => sum + layer.size, 0);
  if (total > MAX_TOTAL_PAYLOAD_BYTES) {
    throw malformed(where, `payloads total ${total} bytes, over the ${MAX_TOTAL_PAYLOAD_BYTES}-byte limit`);
  }
  const signatures = await mapBounded(usable, BLOB_CONCURRENCY, async (layer): Promise<CosignSignature> => {
    const payload = await client.getBlob(registry, repository, layer.digest, maxPayloadBytes, {
      signal,
      expectedSize: layer.size,
    });
    return Object.freeze({
      layerDigest: layer.digest,
      payload,
      signatureB64: layer.annotations.get(SIGNATURE_ANNOTATION) ?? "",
      certificatePem: layer.annotations.get(CERTIFICATE_ANNOTATION) || null,
      chainPem: layer.annotations.get(CHAIN_ANNOTATION) || null,
      bundleJson: layer.annotations.get(BUNDLE_ANNOTATION) || null,
    });
  });
  return { signatures, problems };
}
