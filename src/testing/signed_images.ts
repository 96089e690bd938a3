/**
 * Signed images in a real registry, for tests: an image (config, one layer, an OCI manifest) and its cosign
 * signature manifest at `<repo>:sha256-<hex>.sig`, in the exact format cosign v2.2.x pushes (go-containerregistry
 * v0.19.1 `empty.Image` with OCI media types, one `mutate.Append` per signature; read from cosign's
 * `pkg/oci/empty`, `pkg/oci/static`, `pkg/oci/mutate` and ggcr's `pkg/v1/mutate`, `pkg/v1/config.go`,
 * `pkg/v1/manifest.go`):
 *
 * - the manifest is `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":…,
 *   "layers":[…]}` with descriptors as `{"mediaType","size","digest","annotations"}` in that order and the
 *   annotations sorted by key (Go marshals a map sorted);
 * - the config blob (`application/vnd.oci.image.config.v1+json`) is ggcr's `ConfigFile` of an empty image
 *   after the appends: `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":
 *   "0001-01-01T00:00:00Z"}, … one per signature],"os":"","rootfs":{"type":"layers","diff_ids":[…]},
 *   "config":{}}`;
 * - each layer is `application/vnd.dev.cosign.simplesigning.v1+json`, its blob the payload (uncompressed, so
 *   its diff ID is its digest), its annotations `dev.cosignproject.cosign/signature` and
 *   `dev.sigstore.cosign/{certificate,chain,bundle}`.
 *
 * JSON strings are written as Go's `encoding/json` writes them (`<`, `>`, `&`, U+2028 and U+2029 escaped).
 *
 * @module
 */

import { sha256Digest } from "../oci/registry.ts";
import type { Descriptor, PushedImage, RegistryPusher } from "./registry_push.ts";
import type {
  AttestedImage,
  CosignLayerDescriptor,
  SignedImage,
  SignImageOptions,
  SigstoreFixture,
} from "./sigstore_fixtures.ts";

/** An OCI image manifest. */
export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
/** An OCI image config. */
export const OCI_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json";

const encoder = new TextEncoder();

/**
 * A JSON string literal as Go's `encoding/json` writes it (HTML-safe: `<`, `>`, `&` and the line and
 * paragraph separators as `\u00xx` escapes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goJsonString } from "./signed_images.ts";
 * assert.equal(goJsonString("a<b>&\n"), '"a\\u003cb\\u003e\\u0026\\n"');
 * ```
 *
 * @param value The string.
 * @returns The quoted, escaped literal.
 */
export function goJsonString(value: string): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function goDescriptor(d: {
  readonly mediaType: string;
  readonly size: number;
  readonly digest: string;
  readonly annotations?: Readonly<Record<string, string>>;
}): string {
  const fields = [
    `"mediaType":${goJsonString(d.mediaType)}`,
    `"size":${d.size}`,
    `"digest":${goJsonString(d.digest)}`,
  ];
  const keys = Object.keys(d.annotations ?? {}).sort();
  if (keys.length > 0) {
    const entries = keys.map((k) => `${goJsonString(k)}:${goJsonString(d.annotations![k])}`);
    fields.push(`"annotations":{${entries.join(",")}}`);
  }
  return `{${fields.join(",")}}`;
}

/** The signature manifest and config blob cosign would push for some signature layers. */
export interface CosignSignatureImage {
  /** The config blob. */
  readonly config: Uint8Array;
  /** Its descriptor (OCI config media type). */
  readonly configDescriptor: Descriptor;
  /** The manifest bytes. */
  readonly manifest: Uint8Array;
  /** The manifest's digest. */
  readonly digest: string;
}

/**
 * Builds the `.sig` manifest and config blob exactly as cosign v2.2.x does for these layers, in order (the
 * config's `diff_ids` are the layer digests: the payloads are stored uncompressed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cosignSignatureImage } from "./signed_images.ts";
 * const digest = "sha256:" + "ab".repeat(32);
 * const image = await cosignSignatureImage([{ mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
 *   digest, size: 10, annotations: { "dev.cosignproject.cosign/signature": "MEUC" } }]);
 * assert.equal(new TextDecoder().decode(image.config),
 *   `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],` +
 *   `"os":"","rootfs":{"type":"layers","diff_ids":["${digest}"]},"config":{}}`);
 * ```
 *
 * @param layers The signature layers (one per signature).
 * @returns The config blob, the manifest and its digest.
 */
export async function cosignSignatureImage(
  layers: readonly CosignLayerDescriptor[],
): Promise<CosignSignatureImage> {
  const zero = "0001-01-01T00:00:00Z";
  const config = encoder.encode(
    `{"architecture":"","created":"${zero}","history":[${
      layers.map(() => `{"created":"${zero}"}`).join(",")
    }],"os":"","rootfs":{"type":"layers","diff_ids":[${
      layers.map((l) => goJsonString(l.digest)).join(",")
    }]},"config":{}}`,
  );
  const configDescriptor: Descriptor = {
    mediaType: OCI_CONFIG_MEDIA_TYPE,
    size: config.length,
    digest: await sha256Digest(config),
  };
  const manifest = encoder.encode(
    `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST_MEDIA_TYPE}","config":${
      goDescriptor(configDescriptor)
    },` +
      `"layers":[${layers.map(goDescriptor).join(",")}]}`,
  );
  return { config, configDescriptor, manifest, digest: await sha256Digest(manifest) };
}

/** The cosign tag of the signatures of `digest`: `sha256-<hex>.sig`. */
export function cosignTag(digest: string): string {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
  return `sha256-${digest.slice(7)}.sig`;
}

/** A payload blob and the layer that names it. */
export interface SignatureLayerContent {
  /** The layer descriptor (its digest names `payload`). */
  readonly layer: CosignLayerDescriptor;
  /** The blob. */
  readonly payload: Uint8Array;
}

/**
 * Pushes signature layers as the `.sig` manifest of `imageDigest` in `repository`: every payload blob, the
 * config blob, then the manifest under `sha256-<hex>.sig` (replacing what was there, as `cosign sign`
 * appending leaves one manifest holding all the layers).
 *
 * @param pusher The registry.
 * @param repository The repository of the image.
 * @param imageDigest The digest of the image the signatures are attached to (the tag is derived from it; the
 *   payloads may name another digest: a copied signature).
 * @param signatures The layers, in manifest order (from `signImage`, or hand-made).
 * @returns What was pushed.
 */
export async function pushCosignSignatures(
  pusher: RegistryPusher,
  repository: string,
  imageDigest: string,
  signatures: readonly SignatureLayerContent[],
): Promise<CosignSignatureImage> {
  for (const s of signatures) {
    const pushed = await pusher.pushBlob(repository, s.payload);
    if (pushed.digest !== s.layer.digest) {
      throw new Error(`the layer names ${s.layer.digest} but its payload is ${pushed.digest}`);
    }
  }
  const image = await cosignSignatureImage(signatures.map((s) => s.layer));
  await pusher.pushBlob(repository, image.config);
  await pusher.pushManifest(repository, cosignTag(imageDigest), image.manifest, OCI_MANIFEST_MEDIA_TYPE);
  return image;
}

/** What {@linkcode pushSignedImage} pushed. */
export interface PushedSignedImage {
  /** The image. */
  readonly image: PushedImage;
  /** `<host>/<repository>@<digest>`: what the kubelet reports as the container's `imageID`. */
  readonly imageId: string;
  /** The signatures, in manifest order. */
  readonly signatures: readonly SignedImage[];
  /** The signature manifest, or null when the image was pushed unsigned. */
  readonly signatureImage: CosignSignatureImage | null;
}

/**
 * Pushes a fresh image (random layer, so a fresh digest) and signs it with one signature per element of
 * `signs` (each `signImage` knob set; `digest` is filled in with the image's). An empty `signs` pushes the
 * image unsigned (no `.sig` tag).
 *
 * @example
 * ```ts ignore
 * await using registry = await startTestRegistry();
 * const fx = await createSigstoreFixture();
 * const signed = await pushSignedImage(registry, registry.host, "team/app", fx, [{}, { tamperPayload: true }]);
 * // the pod's imageID: signed.imageId
 * ```
 *
 * @param pusher The registry.
 * @param host The registry as image references name it (`127.0.0.1:<port>`).
 * @param repository The repository.
 * @param fixture Signs.
 * @param signs The knobs of each signature, in manifest order.
 * @param tag A tag to push the image under too, or null (by digest only).
 * @returns What was pushed.
 */
export async function pushSignedImage(
  pusher: RegistryPusher,
  host: string,
  repository: string,
  fixture: SigstoreFixture,
  signs: readonly Omit<SignImageOptions, "digest">[],
  tag: string | null = null,
): Promise<PushedSignedImage> {
  const image = await pusher.pushImage(repository, tag);
  const signatures: SignedImage[] = [];
  for (const options of signs) signatures.push(await fixture.signImage({ ...options, digest: image.digest }));
  const signatureImage = signatures.length === 0
    ? null
    : await pushCosignSignatures(pusher, repository, image.digest, signatures);
  return { image, imageId: `${host}/${repository}@${image.digest}`, signatures, signatureImage };
}

/**
 * An attacker's move: attaches the signatures of one image to another by pushing them, unchanged, as the
 * other image's `.sig` manifest.
 *
 * @param pusher The registry.
 * @param repository The repository of the target image.
 * @param targetDigest The image that receives the copied signatures.
 * @param from The signed image whose signatures are copied.
 * @returns The pushed signature manifest.
 */
export function copySignatures(
  pusher: RegistryPusher,
  repository: string,
  targetDigest: string,
  from: PushedSignedImage,
): Promise<CosignSignatureImage> {
  return pushCosignSignatures(pusher, repository, targetDigest, from.signatures);
}

/** The cosign tag of the attestations of `digest`: `sha256-<hex>.att`. */
export function cosignAttestationTag(digest: string): string {
  return `${cosignTag(digest).slice(0, -4)}.att`;
}

/**
 * Pushes attestations (from `SigstoreFixture.attestImage`) as the `.att` manifest of `imageDigest` in
 * `repository`, as `cosign attest` does: every envelope blob (layer media type
 * `application/vnd.dsse.envelope.v1+json`), the config blob, then the manifest under `sha256-<hex>.att`.
 *
 * @example
 * ```ts ignore
 * const signed = await pushSignedImage(registry, registry.host, "team/app", fx, [{}]);
 * await pushCosignAttestations(registry, "team/app", signed.image.digest, [await fx.attestImage({ digest: signed.image.digest })]);
 * ```
 *
 * @param pusher The registry.
 * @param repository The repository of the image.
 * @param imageDigest The digest of the image the attestations are attached to.
 * @param attestations The attestations, in manifest order.
 * @returns What was pushed.
 */
export async function pushCosignAttestations(
  pusher: RegistryPusher,
  repository: string,
  imageDigest: string,
  attestations: readonly AttestedImage[],
): Promise<CosignSignatureImage> {
  for (const a of attestations) {
    const pushed = await pusher.pushBlob(repository, a.envelope);
    if (pushed.digest !== a.layer.digest) {
      throw new Error(`the layer names ${a.layer.digest} but its envelope is ${pushed.digest}`);
    }
  }
  const image = await cosignSignatureImage(attestations.map((a) => a.layer));
  await pusher.pushBlob(repository, image.config);
  await pusher.pushManifest(
    repository,
    cosignAttestationTag(imageDigest),
    image.manifest,
    OCI_MANIFEST_MEDIA_TYPE,
  );
  return image;
}
