/**
 * The current form's selectors of one image (src/sigstore/current_selectors.ts) from fixture signatures and
 * attestations: upstream v1.15.3's exact strings and order, `ignore_tlog`, `ignore_attestations`, skipped
 * images, and upstream's failures (no signatures, none matching, no attestations, no verified attestation,
 * details that cannot be extracted).
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  currentImageSelectors,
  type CurrentImageSettings,
  type CurrentLayerSet,
  isSkippedImage,
} from "../../src/sigstore/current_selectors.ts";
import { createIdentityMatcher } from "../../src/sigstore/identity.ts";
import type { CosignSignature } from "../../src/sigstore/types.ts";
import { AttestorError } from "../../src/errors.ts";
import {
  createSigstoreFixture,
  FIXTURE_CLOCK,
  FIXTURE_INTEGRATED_TIME,
  FIXTURE_ISSUER,
  FIXTURE_SUBJECT,
  type SigstoreFixture,
} from "../../src/testing/sigstore_fixtures.ts";

const HEX = "a".repeat(64);
const DIGEST = `sha256:${HEX}`;
const IMAGE_ID = `registry.example/app@${DIGEST}`;
const FRESH = () => new Date(FIXTURE_CLOCK.getTime() + 5 * 60_000);

let fx: SigstoreFixture;
before(async () => {
  fx = await createSigstoreFixture();
});

const SETTINGS: CurrentImageSettings = {
  skippedImages: [],
  ignoreSct: false,
  ignoreTlog: false,
  ignoreAttestations: false,
  rekorUrl: "http://127.0.0.1:9/",
};

function options(
  settings: Partial<CurrentImageSettings> = {},
  allowed = new Map([[FIXTURE_ISSUER, [FIXTURE_SUBJECT]]]),
) {
  return {
    settings: { ...SETTINGS, ...settings },
    trust: fx.trust,
    identities: createIdentityMatcher(allowed),
    now: FRESH,
  };
}

function set(...layers: CosignSignature[]): CurrentLayerSet {
  return { signatures: layers, problems: [] };
}

function evidence(signatures: CurrentLayerSet | null, attestations: CurrentLayerSet | null) {
  return { imageId: IMAGE_ID, imageDigest: DIGEST, signatures, attestations };
}

async function unverified(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AttestorError, `expected AttestorError, got ${String(err)}`);
    assert.equal(err.reason, "signature-unverified");
    assert.match(err.message, message);
    return true;
  });
}

function bundleOf(sig: CosignSignature): { SignedEntryTimestamp: string; Payload: { logIndex: number } } {
  return JSON.parse(sig.bundleJson!);
}

describe("currentImageSelectors", () => {
  it("gives upstream's selectors in upstream's order, per signature in manifest order", async () => {
    const first = (await fx.signImage({ digest: DIGEST })).signature;
    const subject2 = "https://github.com/org/repo/.github/workflows/release.yaml@refs/tags/v2";
    const second =
      (await fx.signImage({ digest: DIGEST, identity: { subject: subject2, san: "uri" } })).signature;
    const att = (await fx.attestImage({ digest: DIGEST })).attestation;
    const allowed = new Map([[FIXTURE_ISSUER, [FIXTURE_SUBJECT, "refs/tags/v[0-9]+$"]]]);
    const selectors = await currentImageSelectors(
      evidence(set(first, second), set(att)),
      options({}, allowed),
    );
    const tlog = (sig: CosignSignature) => [
      `image-signature-log-id:${fx.rekor.logId}`,
      `image-signature-log-index:${bundleOf(sig).Payload.logIndex}`,
      `image-signature-integrated-time:${FIXTURE_INTEGRATED_TIME}`,
      `image-signature-signed-entry-timestamp:${bundleOf(sig).SignedEntryTimestamp}`,
    ];
    assert.deepEqual(selectors, [
      "image-signature:verified",
      "image-attestations:verified",
      `image-signature-subject:${FIXTURE_SUBJECT}`,
      `image-signature-issuer:${FIXTURE_ISSUER}`,
      `image-signature-value:${first.signatureB64}`,
      ...tlog(first),
      `image-signature-subject:${subject2}`,
      `image-signature-issuer:${FIXTURE_ISSUER}`,
      `image-signature-value:${second.signatureB64}`,
      ...tlog(second),
    ]);
  });

  it("ignore_tlog: no log selectors; ignore_attestations: no attestation selector and .att not needed", async () => {
    const sig = (await fx.signImage({ digest: DIGEST, bundle: false })).signature;
    const att = (await fx.attestImage({ digest: DIGEST, bundle: false })).attestation;
    const values = [
      `image-signature-subject:${FIXTURE_SUBJECT}`,
      `image-signature-issuer:${FIXTURE_ISSUER}`,
      `image-signature-value:${sig.signatureB64}`,
    ];
    assert.deepEqual(
      await currentImageSelectors(evidence(set(sig), set(att)), options({ ignoreTlog: true })),
      [
        "image-signature:verified",
        "image-attestations:verified",
        ...values,
      ],
    );
    assert.deepEqual(
      await currentImageSelectors(
        evidence(set(sig), null),
        options({ ignoreTlog: true, ignoreAttestations: true }),
      ),
      ["image-signature:verified", ...values],
    );
    // Without ignore_attestations the same image fails: its .att tag is missing.
    await unverified(
      currentImageSelectors(evidence(set(sig), null), options({ ignoreTlog: true })),
      /failed to verify image attestations .*no matching attestations: no attestations found/,
    );
  });

  it("keeps only the signatures that pass; their failures are not listed", async () => {
    const good = (await fx.signImage({ digest: DIGEST })).signature;
    const bad = (await fx.signImage({ digest: DIGEST, identity: { subject: "evil@example.com" } })).signature;
    const att = (await fx.attestImage({ digest: DIGEST })).attestation;
    const badAtt = (await fx.attestImage({ digest: DIGEST, tamperStatement: true })).attestation;
    const selectors = await currentImageSelectors(evidence(set(bad, good), set(badAtt, att)), options());
    assert.ok(selectors.includes(`image-signature-value:${good.signatureB64}`));
    assert.ok(!selectors.includes(`image-signature-value:${bad.signatureB64}`));
    assert.ok(!selectors.some((s) => s.includes("evil@example.com")));
    assert.equal(selectors.filter((s) => s.startsWith("image-signature-subject:")).length, 1);
  });

  it("a skipped image gets no selectors and no error, without looking at anything", async () => {
    const settings = { skippedImages: [IMAGE_ID] };
    assert.deepEqual(await currentImageSelectors(evidence(null, null), options(settings)), []);
    assert.equal(isSkippedImage(settings, IMAGE_ID), true);
    // Exact string only, as upstream.
    assert.equal(isSkippedImage(settings, DIGEST), false);
    assert.equal(isSkippedImage({ skippedImages: [DIGEST] }, IMAGE_ID), false);
    await unverified(
      currentImageSelectors(evidence(null, null), options({ skippedImages: [DIGEST] })),
      /no signatures found/,
    );
  });

  it("fails without signatures, with none matching (listing why), and with unusable layers only", async () => {
    await unverified(currentImageSelectors(evidence(null, null), options()), /no signatures found/);
    await unverified(currentImageSelectors(evidence(set(), null), options()), /no signatures found/);
    const wrong = await fx.signImage({ digest: DIGEST, payloadDigest: `sha256:${"b".repeat(64)}` });
    const att = (await fx.attestImage({ digest: DIGEST })).attestation;
    await unverified(
      currentImageSelectors(evidence(set(wrong.signature), set(att)), options()),
      new RegExp(`no matching signatures: ${wrong.layer.digest}: the payload signs image sha256:b+`),
    );
    const junk = {
      signatures: [],
      problems: [{ layerDigest: "sha256:" + "c".repeat(64), reason: "junk layer" }],
    };
    await unverified(
      currentImageSelectors(evidence(junk, set(att)), options()),
      /no matching signatures: sha256:c+: junk layer/,
    );
  });

  it("fails when no attestation passes, listing why", async () => {
    const sig = (await fx.signImage({ digest: DIGEST })).signature;
    const other =
      (await fx.attestImage({ digest: DIGEST, subjectDigest: `sha256:${"b".repeat(64)}` })).attestation;
    await unverified(
      currentImageSelectors(evidence(set(sig), set(other)), options()),
      /no matching attestations: sha256:[0-9a-f]+: the in-toto statement's subjects do not name/,
    );
    await unverified(currentImageSelectors(evidence(set(sig), set()), options()), /no attestations found/);
  });

  it("bounds the listed reasons", async () => {
    const wrong = (await fx.signImage({ digest: DIGEST, identity: { subject: "x@example.com" } })).signature;
    const many = Array.from(
      { length: 13 },
      (_, i) => ({ ...wrong, layerDigest: `sha256:${String(i).padStart(64, "0")}` }),
    );
    await assert.rejects(currentImageSelectors(evidence(set(...many), null), options()), (err: Error) => {
      assert.match(err.message, /; and 3 more$/);
      assert.equal(err.message.match(/none of the expected identities/g)?.length, 10);
      return true;
    });
  });

  it("fails the image, as upstream, when a verified signature has no usable issuer", async () => {
    const anyIssuer = new Map([["^.*$", [FIXTURE_SUBJECT]]]);
    const none =
      (await fx.signImage({ digest: DIGEST, identity: { subject: FIXTURE_SUBJECT, issuer: null } }))
        .signature;
    const att = (await fx.attestImage({ digest: DIGEST })).attestation;
    await unverified(
      currentImageSelectors(evidence(set(none), set(att)), options({}, anyIssuer)),
      /failed to extract details from signatures .*no OIDC issuer found in certificate extensions/,
    );
    const empty = (await fx.signImage({ digest: DIGEST, identity: { subject: FIXTURE_SUBJECT, issuer: "" } }))
      .signature;
    await unverified(
      currentImageSelectors(evidence(set(empty), set(att)), options({}, anyIssuer)),
      /OIDC issuer extension is present but empty/,
    );
  });

  it("passes an abort through instead of counting it as a rejected signature", async () => {
    const sig = (await fx.signImage({ digest: DIGEST, bundle: false })).signature;
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      currentImageSelectors(evidence(set(sig), null), { ...options(), signal: controller.signal }),
      (err: unknown) => err instanceof AttestorError && err.reason !== "signature-unverified",
    );
  });
});
