/**
 * The current form's checks of one signature and one attestation (src/sigstore/verify_current.ts) against the
 * offline fixtures: the values the selectors need, `ignore_sct`, `ignore_tlog` (with and without a bundle,
 * fresh and expired certificates), regex identities, and each check failing with its own rejection.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type CurrentCheckContext,
  verifyCurrentAttestation,
  verifyCurrentSignature,
} from "../../src/sigstore/verify_current.ts";
import { createIdentityMatcher } from "../../src/sigstore/identity.ts";
import {
  type CosignSignature,
  SignatureRejected,
  type SignatureRejection,
} from "../../src/sigstore/types.ts";
import {
  type AttestImageOptions,
  createSigstoreFixture,
  FIXTURE_CLOCK,
  FIXTURE_INTEGRATED_TIME,
  FIXTURE_ISSUER,
  FIXTURE_SUBJECT,
  type SignImageOptions,
  type SigstoreFixture,
  startFakeRekor,
} from "../../src/testing/sigstore_fixtures.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;
const OTHER_DIGEST = `sha256:${"b".repeat(64)}`;
const UNREACHABLE_REKOR = "http://127.0.0.1:9/";
/** Inside the fixture leaf's ten-minute validity. */
const FRESH = () => new Date(FIXTURE_CLOCK.getTime() + 5 * 60_000);
/** After it. */
const LATER = () => new Date(FIXTURE_CLOCK.getTime() + 60 * 60_000);

let fx: SigstoreFixture;
before(async () => {
  fx = await createSigstoreFixture();
});

function context(overrides: Partial<CurrentCheckContext> = {}): CurrentCheckContext {
  return {
    trust: fx.trust,
    identities: createIdentityMatcher(new Map([[FIXTURE_ISSUER, [FIXTURE_SUBJECT]]])),
    ignoreSct: false,
    ignoreTlog: false,
    imageDigest: DIGEST,
    rekorUrl: UNREACHABLE_REKOR,
    ...overrides,
  };
}

async function sign(options: Partial<SignImageOptions> = {}): Promise<CosignSignature> {
  return (await fx.signImage({ digest: DIGEST, ...options })).signature;
}

async function attest(options: Partial<AttestImageOptions> = {}): Promise<CosignSignature> {
  return (await fx.attestImage({ digest: DIGEST, ...options })).attestation;
}

async function rejected(
  promise: Promise<unknown>,
  rejection: SignatureRejection,
  message: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SignatureRejected, `expected SignatureRejected, got ${String(err)}`);
    assert.equal(err.rejection, rejection, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe("verifyCurrentSignature", () => {
  it("gives subject, issuer, value and the bundle's log ID, index, integrated time and SET", async () => {
    const signed = await fx.signImage({ digest: DIGEST });
    const bundle = JSON.parse(signed.signature.bundleJson!);
    assert.deepEqual(await verifyCurrentSignature(signed.signature, context()), {
      layerDigest: signed.layer.digest,
      subject: FIXTURE_SUBJECT,
      issuer: FIXTURE_ISSUER,
      value: signed.signature.signatureB64,
      tlog: {
        logId: fx.rekor.logId,
        logIndex: bundle.Payload.logIndex,
        integratedTime: FIXTURE_INTEGRATED_TIME,
        signedEntryTimestamp: bundle.SignedEntryTimestamp,
      },
    });
  });

  it("matches regex identities unanchored, on the issuer and on any SAN", async () => {
    const subject = "https://github.com/org/repo/.github/workflows/release.yaml@refs/tags/v1.2.3";
    const sig = await sign({ identity: { subject, san: "uri" } });
    const allowed = (issuer: string, subjects: string[]) =>
      context({ identities: createIdentityMatcher(new Map([[issuer, subjects]])) });
    const ok = await verifyCurrentSignature(
      sig,
      allowed("^https://issuer\\.example$", ["refs/tags/v[0-9]+"]),
    );
    assert.equal(ok.subject, subject);
    await rejected(
      verifyCurrentSignature(sig, allowed("^https://issuer\\.example$", ["^refs/tags/v[0-9]+"])),
      "identity",
      /none of the expected identities matched.*refs\/tags\/v1\.2\.3.*with issuer "https:\/\/issuer\.example"/,
    );
    await rejected(
      verifyCurrentSignature(sig, allowed("^https://other\\.example$", [".*"])),
      "identity",
      /none of the expected identities/,
    );
    // A literal with a dot is compared exactly: a lookalike issuer does not match.
    await rejected(
      verifyCurrentSignature(sig, allowed("https://issuer.exampl", [subject])),
      "identity",
      /none of the expected identities/,
    );
  });

  it("ignore_sct: a certificate without an SCT passes only when SCTs are ignored", async () => {
    const sig = await sign({ sct: "none" });
    await rejected(verifyCurrentSignature(sig, context()), "sct", /no embedded SCT/);
    assert.equal((await verifyCurrentSignature(sig, context({ ignoreSct: true }))).subject, FIXTURE_SUBJECT);
    const unknown = await sign({ sct: "unknown-log" });
    await rejected(verifyCurrentSignature(unknown, context()), "sct", /not trusted/);
    assert.equal(
      (await verifyCurrentSignature(unknown, context({ ignoreSct: true }))).issuer,
      FIXTURE_ISSUER,
    );
  });

  it("ignore_tlog: no bundle needed, the bundle not read, no tlog values, the certificate checked at now", async () => {
    const noBundle = await sign({ bundle: false });
    const verified = await verifyCurrentSignature(noBundle, context({ ignoreTlog: true, now: FRESH }));
    assert.equal(verified.tlog, null);
    assert.equal(verified.value, noBundle.signatureB64);
    // A bundle signed by an unknown Rekor key is not even looked at.
    const badBundle = await sign({ rekorKey: "unknown" });
    await rejected(verifyCurrentSignature(badBundle, context()), "tlog", /not trusted/);
    assert.equal(
      (await verifyCurrentSignature(badBundle, context({ ignoreTlog: true, now: FRESH }))).tlog,
      null,
    );
  });

  it("ignore_tlog: an expired certificate fails as cosign words it (also with a bundle)", async () => {
    for (const bundle of [false, true]) {
      const sig = await sign({ bundle });
      await rejected(
        verifyCurrentSignature(sig, context({ ignoreTlog: true, now: LATER })),
        "expired",
        /^expected a signed timestamp to verify an expired certificate: the certificate .* current time/,
      );
    }
    // The default clock is the real one, long after the fixture certificate.
    await rejected(
      verifyCurrentSignature(await sign(), context({ ignoreTlog: true })),
      "expired",
      /expected a signed timestamp/,
    );
    // A certificate not yet valid fails the same way.
    await rejected(
      verifyCurrentSignature(
        await sign(),
        context({ ignoreTlog: true, now: () => new Date(FIXTURE_CLOCK.getTime() - 1000) }),
      ),
      "expired",
      /expected a signed timestamp/,
    );
  });

  it("without ignore_tlog the certificate is checked at the integrated time, not now", async () => {
    const sig = await sign({ integratedTime: FIXTURE_CLOCK.getTime() / 1000 + 11 * 60 });
    await rejected(verifyCurrentSignature(sig, context({ now: FRESH })), "expired", /Rekor integrated time/);
  });

  it("looks a signature without a bundle up at rekor_url and gives the entry's SET", async () => {
    const signed = await fx.signImage({ digest: DIGEST, bundle: false });
    const payloadSha256 = createHash("sha256").update(signed.payload).digest("hex");
    await using rekor = startFakeRekor([{ payloadSha256, entry: signed.rekorEntry }]);
    const verified = await verifyCurrentSignature(signed.signature, context({ rekorUrl: rekor.url }));
    assert.deepEqual(verified.tlog, {
      logId: fx.rekor.logId,
      logIndex: signed.rekorEntry.entry.logIndex,
      integratedTime: FIXTURE_INTEGRATED_TIME,
      signedEntryTimestamp: signed.rekorEntry.entry.verification.signedEntryTimestamp,
    });
    await rejected(verifyCurrentSignature(signed.signature, context()), "no-bundle", /.+/);
  });

  it("keeps the stricter checks: the payload names the image digest; CodeSigning usage", async () => {
    await rejected(
      verifyCurrentSignature(await sign({ payloadDigest: OTHER_DIGEST }), context()),
      "wrong-image",
      /signs image sha256:b+, not sha256:a+/,
    );
    await rejected(
      verifyCurrentSignature(await sign({ codeSigning: false }), context({ ignoreTlog: true, now: FRESH })),
      "no-code-signing",
      /CodeSigning/,
    );
  });

  it("rejects each other failed check", async () => {
    const cases: [Partial<SignImageOptions>, SignatureRejection, RegExp][] = [
      [{ tamperPayload: true }, "bad-signature", /does not verify/],
      [{ ca: "rogue" }, "untrusted-chain", /no certificate path/],
      [{ rekorKey: "wrong" }, "tlog", /SignedEntryTimestamp does not verify/],
      [{ identity: { subject: "other@example.com" } }, "identity", /"other@example.com"/],
      [
        { identity: { subject: FIXTURE_SUBJECT, issuer: "https://other.example" } },
        "identity",
        /other\.example/,
      ],
      [{ identity: { subject: FIXTURE_SUBJECT, issuer: null } }, "identity", /with issuer \(none\)/],
      [{ integratedTime: FIXTURE_CLOCK.getTime() / 1000 + 3600 }, "expired", /integrated time/],
    ];
    for (const [options, rejection, message] of cases) {
      await rejected(verifyCurrentSignature(await sign(options), context()), rejection, message);
    }
    await rejected(
      verifyCurrentSignature({ ...(await sign()), certificatePem: null }, context()),
      "no-certificate",
      /no certificate/,
    );
  });
});

describe("verifyCurrentAttestation", () => {
  it("verifies each Rekor kind cosign writes for attestations, in both base64 alphabets", async () => {
    for (const kind of ["intoto-0.0.1", "intoto-0.0.2", "dsse-0.0.1"] as const) {
      for (const base64 of ["standard", "url"] as const) {
        const attested = await fx.attestImage({ digest: DIGEST, kind, base64 });
        const bundle = JSON.parse(attested.attestation.bundleJson!);
        assert.deepEqual(await verifyCurrentAttestation(attested.attestation, context()), {
          layerDigest: attested.layer.digest,
          subject: FIXTURE_SUBJECT,
          issuer: FIXTURE_ISSUER,
          predicateType: "https://slsa.dev/provenance/v1",
          tlog: {
            logId: fx.rekor.logId,
            logIndex: bundle.Payload.logIndex,
            integratedTime: FIXTURE_INTEGRATED_TIME,
            signedEntryTimestamp: bundle.SignedEntryTimestamp,
          },
        }, `${kind} ${base64}`);
        assert.equal(attested.layer.mediaType, "application/vnd.dsse.envelope.v1+json");
        assert.equal(attested.layer.annotations["dev.cosignproject.cosign/signature"], "");
      }
    }
  });

  it("accepts RSA and P-384 signers", async () => {
    for (const signerKey of ["rsa", "ecdsa-p384"] as const) {
      assert.equal(
        (await verifyCurrentAttestation(await attest({ signerKey }), context())).subject,
        FIXTURE_SUBJECT,
      );
    }
  });

  it("ignore_tlog: no bundle needed; an expired certificate fails as cosign words it", async () => {
    const att = await attest({ bundle: false });
    await rejected(verifyCurrentAttestation(att, context()), "no-bundle", /no Rekor bundle/);
    assert.equal((await verifyCurrentAttestation(att, context({ ignoreTlog: true, now: FRESH }))).tlog, null);
    await rejected(
      verifyCurrentAttestation(att, context({ ignoreTlog: true, now: LATER })),
      "expired",
      /^expected a signed timestamp to verify an expired certificate/,
    );
  });

  it("ignore_sct: a certificate without an SCT passes only when SCTs are ignored", async () => {
    const att = await attest({ sct: "none" });
    await rejected(verifyCurrentAttestation(att, context()), "sct", /no embedded SCT/);
    assert.equal(
      (await verifyCurrentAttestation(att, context({ ignoreSct: true }))).subject,
      FIXTURE_SUBJECT,
    );
  });

  it("rejects each failed check", async () => {
    const cases: [Partial<AttestImageOptions>, SignatureRejection, RegExp][] = [
      [{ tamperStatement: true }, "bad-signature", /no signature of the DSSE envelope verifies/],
      [{ foreignSigner: true }, "bad-signature", /no signature of the DSSE envelope verifies/],
      [{ payloadType: "application/vnd.example+json" }, "malformed", /invalid payloadType/],
      [{ subjectDigest: OTHER_DIGEST }, "wrong-image", /subjects do not name sha256:a+/],
      [{ body: "other-hash" }, "tlog", /hash does not match the attestation envelope/],
      [{ body: "other-certificate" }, "tlog", /not the attestation's certificate/],
      [{ body: "other-hash", kind: "dsse-0.0.1" }, "tlog", /hash does not match/],
      [{ body: "other-certificate", kind: "dsse-0.0.1" }, "tlog", /not the attestation's certificate/],
      [{ body: "other-hash", kind: "intoto-0.0.2" }, "tlog", /hash does not match/],
      [{ body: "other-certificate", kind: "intoto-0.0.2" }, "tlog", /not the attestation's certificate/],
      [{ kind: "hashedrekord" }, "tlog", /not supported for an attestation/],
      [{ rekorKey: "unknown" }, "tlog", /not trusted/],
      [{ rekorKey: "wrong" }, "tlog", /SignedEntryTimestamp does not verify/],
      [{ ca: "rogue" }, "untrusted-chain", /no certificate path/],
      [{ codeSigning: false }, "no-code-signing", /CodeSigning/],
      [{ identity: { subject: "other@example.com" } }, "identity", /none of the expected identities/],
      [{ integratedTime: FIXTURE_CLOCK.getTime() / 1000 + 3600 }, "expired", /integrated time/],
    ];
    for (const [options, rejection, message] of cases) {
      await rejected(verifyCurrentAttestation(await attest(options), context()), rejection, message);
    }
  });

  it("rejects a layer that is not a DSSE envelope, and a signature layer given as an attestation", async () => {
    const att = await attest();
    const bad = (payload: unknown) => ({
      ...att,
      payload: new TextEncoder().encode(JSON.stringify(payload)),
    });
    await rejected(verifyCurrentAttestation(bad([1]), context()), "malformed", /not a JSON DSSE envelope/);
    await rejected(
      verifyCurrentAttestation(bad({ payloadType: "x", payload: "e30=", signatures: [] }), context()),
      "malformed",
      /no signatures/,
    );
    await rejected(
      verifyCurrentAttestation(
        bad({ payloadType: "x", payload: "e30", signatures: [{ sig: "AA==" }] }),
        context(),
      ),
      "malformed",
      /payload is not base64/,
    );
    await rejected(verifyCurrentAttestation(await sign(), context()), "malformed", /no payloadType/);
  });
});
