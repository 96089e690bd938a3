/**
 * The verifier of the top-level `sigstore` block (src/sigstore/verifier_current.ts) over an in-memory
 * registry holding images signed and attested by the offline sigstore fixture: upstream's selectors without
 * a container-ID prefix, the `.att` tag read unless `ignore_attestations`, a missing `.att` failing,
 * skipped images answered with no selector and no registry request, a tag-only image refused, a manifest
 * whose bytes do not match the digest refused, and the shared cache.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createCurrentSigstoreVerifier } from "../../src/sigstore/verifier_current.ts";
import type { SigstoreCurrentConfig } from "../../src/config/types.ts";
import { attestationTag, signatureTag } from "../../src/sigstore/cosign_layers.ts";
import { nullLogger } from "../../src/log.ts";
import { assertAttestorError } from "../../src/testing/assert_error.ts";
import {
  type CosignLayerDescriptor,
  createSigstoreFixture,
  FIXTURE_INTEGRATED_TIME,
  FIXTURE_ISSUER,
  FIXTURE_SUBJECT,
  type SigstoreFixture,
} from "../../src/testing/sigstore_fixtures.ts";
import { MemoryRegistry, OCI_MANIFEST, pushSignedImage, sha256 } from "./_fakes.ts";

const REG = "registry.example";
const REPO = "team/app";

let fx: SigstoreFixture;
before(async () => {
  fx = await createSigstoreFixture();
});

function settings(overrides: Partial<SigstoreCurrentConfig> = {}): SigstoreCurrentConfig {
  return {
    allowedIdentities: new Map([[FIXTURE_ISSUER, [FIXTURE_SUBJECT]]]),
    skippedImages: [],
    rekorUrl: "http://127.0.0.1:9/",
    ignoreSct: false,
    ignoreTlog: false,
    ignoreAttestations: false,
    registryCredentials: new Map(),
    ignoredCredentials: [],
    ...overrides,
  };
}

function putLayers(
  reg: MemoryRegistry,
  tag: string,
  layers: readonly { layer: CosignLayerDescriptor; blob: Uint8Array }[],
) {
  for (const l of layers) assert.equal(reg.putBlob(REG, REPO, l.blob), l.layer.digest);
  reg.putManifest(REG, REPO, tag, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256("{}"), size: 2 },
    layers: layers.map((l) => l.layer),
  });
}

/** A fresh image, signed once and (unless `attest` is false) attested once by the fixture's identity. */
async function image(reg: MemoryRegistry, options: { attest?: boolean; sign?: boolean } = {}) {
  const digest = pushSignedImage(reg, REG, REPO, null);
  const signed = await fx.signImage({ digest });
  if (options.sign !== false) {
    putLayers(reg, signatureTag(digest), [{ layer: signed.layer, blob: signed.payload }]);
  }
  if (options.attest !== false) {
    const attested = await fx.attestImage({ digest });
    putLayers(reg, attestationTag(digest), [{ layer: attested.layer, blob: attested.envelope }]);
  }
  return { digest, imageId: `${REG}/${REPO}@${digest}`, signed };
}

function verifier(reg: MemoryRegistry, overrides: Partial<SigstoreCurrentConfig> = {}) {
  return createCurrentSigstoreVerifier({
    settings: settings(overrides),
    trust: fx.trust,
    registry: reg,
    logger: nullLogger,
  });
}

const container = (imageId: string) => ({ imageId, containerId: "containerd://abc" });

async function fails(call: Promise<unknown>, message: string | RegExp): Promise<void> {
  let caught: unknown = null;
  try {
    await call;
  } catch (err) {
    caught = err;
  }
  assertAttestorError(caught, "signature-unverified", message);
}

describe("current sigstore verifier", () => {
  it("signed and attested: upstream's selectors, no container prefix; the second call is cached", async () => {
    const reg = new MemoryRegistry();
    const img = await image(reg);
    const v = verifier(reg);
    assert.equal(v.askedWithoutContainerSelectors, true);
    const selectors = await v.selectorsFor(container(img.imageId));
    assert.deepEqual(selectors, [
      "image-signature:verified",
      "image-attestations:verified",
      `image-signature-subject:${FIXTURE_SUBJECT}`,
      `image-signature-issuer:${FIXTURE_ISSUER}`,
      `image-signature-value:${img.signed.signature.signatureB64}`,
      `image-signature-log-id:${fx.rekor.logId}`,
      `image-signature-log-index:${img.signed.rekorEntry.entry.logIndex}`,
      `image-signature-integrated-time:${FIXTURE_INTEGRATED_TIME}`,
      `image-signature-signed-entry-timestamp:${img.signed.rekorEntry.entry.verification.signedEntryTimestamp}`,
    ]);
    assert.deepEqual(
      reg.requests.filter((r) => r.kind === "manifest").map((r) => r.reference).sort(),
      [
        img.digest,
        attestationTag(img.digest),
        signatureTag(img.digest),
      ].sort(),
    );
    const seen = reg.requests.length;
    assert.deepEqual(
      await v.selectorsFor({ imageId: img.imageId, containerId: "containerd://other" }),
      selectors,
    );
    assert.equal(reg.requests.length, seen, "cached");
  });

  it("ignore_attestations: the .att tag is not read and no image-attestations:verified", async () => {
    const reg = new MemoryRegistry();
    const img = await image(reg, { attest: false });
    const selectors = await verifier(reg, { ignoreAttestations: true }).selectorsFor(container(img.imageId));
    assert.equal(selectors[0], "image-signature:verified");
    assert.ok(!selectors.includes("image-attestations:verified"));
    assert.ok(!reg.requests.some((r) => r.reference === attestationTag(img.digest)));
  });

  it("a missing .att fails by default", async () => {
    const reg = new MemoryRegistry();
    const img = await image(reg, { attest: false });
    await fails(
      verifier(reg).selectorsFor(container(img.imageId)),
      `failed to verify image attestations for image ${
        JSON.stringify(img.imageId)
      }: no matching attestations: ` +
        "no attestations found",
    );
  });

  it("a missing .sig fails", async () => {
    const reg = new MemoryRegistry();
    const img = await image(reg, { sign: false });
    await fails(
      verifier(reg).selectorsFor(container(img.imageId)),
      `failed to verify signatures for image ${JSON.stringify(img.imageId)}: no signatures found`,
    );
  });

  it("a skipped image: no selector and no registry request", async () => {
    const reg = new MemoryRegistry();
    const imageId = `${REG}/${REPO}@sha256:${"e".repeat(64)}`;
    assert.deepEqual(await verifier(reg, { skippedImages: [imageId] }).selectorsFor(container(imageId)), []);
    assert.equal(reg.requests.length, 0);
  });

  it("a tag-only image ID is refused without a registry request", async () => {
    const reg = new MemoryRegistry();
    await fails(
      verifier(reg).selectorsFor(container(`${REG}/${REPO}:v1`)),
      /carries no digest/,
    );
    assert.equal(reg.requests.length, 0);
  });

  it("a registry serving other bytes for the image digest is refused before any signature is read", async () => {
    const reg = new MemoryRegistry();
    const img = await image(reg);
    const other = { bytes: new TextEncoder().encode('{"schemaVersion":2}'), mediaType: OCI_MANIFEST };
    reg.manifests.set(`${REG}/${REPO}:${img.digest}`, other);
    // MemoryRegistry itself checks digests; bypass it the way a lying registry client would not.
    const lying = Object.assign(Object.create(reg), {
      getManifest: async (...args: Parameters<MemoryRegistry["getManifest"]>) => {
        if (args[2] === img.digest) {
          return { bytes: other.bytes, mediaType: OCI_MANIFEST, digest: img.digest };
        }
        return await reg.getManifest(...args);
      },
    }) as MemoryRegistry;
    await fails(
      verifier(lying).selectorsFor(container(img.imageId)),
      /has digest sha256:[a-f0-9]{64}, not the one asked for/,
    );
    assert.ok(!reg.requests.some((r) => r.reference === signatureTag(img.digest)));
  });
});
