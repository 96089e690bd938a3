/**
 * One cosign signature's checks (src/sigstore/verify_signature.ts) against the offline fixtures: the happy path
 * with its exact selector values, and each check of issue 11 failing with its own rejection.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { verifySignature } from "../../src/sigstore/verify_signature.ts";
import {
  type CosignSignature,
  type SignatureCheckContext,
  SignatureRejected,
  type SignatureRejection,
  type SigstoreTrust,
} from "../../src/sigstore/types.ts";
import {
  createSigstoreFixture,
  FIXTURE_INTEGRATED_TIME,
  FIXTURE_ISSUER,
  FIXTURE_SUBJECT,
  type SignImageOptions,
  type SigstoreFixture,
  startFakeRekor,
} from "../../src/testing/sigstore_fixtures.ts";
import { AttestorError } from "../../src/errors.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;
const OTHER_DIGEST = `sha256:${"b".repeat(64)}`;
const UNREACHABLE_REKOR = "http://127.0.0.1:9/";

let fx: SigstoreFixture;
before(async () => {
  fx = await createSigstoreFixture();
});

function context(overrides: Partial<SignatureCheckContext> = {}): SignatureCheckContext {
  return {
    trust: fx.trust,
    policy: { allowedSubjects: new Map([[FIXTURE_ISSUER, [FIXTURE_SUBJECT]]]), enforceSct: true },
    imageDigest: DIGEST,
    rekorUrl: UNREACHABLE_REKOR,
    ...overrides,
  };
}

async function sign(options: Partial<SignImageOptions> = {}) {
  return await fx.signImage({ digest: DIGEST, ...options });
}

async function assertRejected(
  signature: CosignSignature,
  rejection: SignatureRejection,
  message: RegExp,
  ctx: SignatureCheckContext = context(),
): Promise<void> {
  await assert.rejects(verifySignature(signature, ctx), (err: unknown) => {
    assert.ok(err instanceof SignatureRejected, `expected SignatureRejected, got ${String(err)}`);
    assert.equal(err.rejection, rejection, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe("verifySignature accepts a valid signature", () => {
  it("gives the exact selector values from the certificate and the Rekor bundle", async () => {
    const signed = await sign();
    const verified = await verifySignature(signed.signature, context());
    const bundle = JSON.parse(signed.signature.bundleJson!);
    const body = JSON.parse(atob(bundle.Payload.body));
    assert.deepEqual(verified, {
      layerDigest: signed.layer.digest,
      subject: FIXTURE_SUBJECT,
      issuer: FIXTURE_ISSUER,
      content: signed.signature.signatureB64,
      logId: fx.rekor.logId,
      integratedTime: FIXTURE_INTEGRATED_TIME,
    });
    assert.equal(body.spec.signature.content, verified.content);
    assert.equal(
      signed.layer.digest,
      `sha256:${createHash("sha256").update(signed.payload).digest("hex")}`,
    );
    assert.equal(signed.layer.size, signed.payload.length);
    assert.equal(signed.layer.mediaType, "application/vnd.dev.cosign.simplesigning.v1+json");
  });

  it("takes a URI SAN as the subject", async () => {
    const subject = "https://github.com/org/repo/.github/workflows/release.yaml@refs/tags/v1";
    const signed = await sign({ identity: { subject, san: "uri" } });
    const verified = await verifySignature(
      signed.signature,
      context({ policy: { allowedSubjects: new Map([[FIXTURE_ISSUER, [subject]]]), enforceSct: true } }),
    );
    assert.equal(verified.subject, subject);
  });

  it("accepts a rekord 0.0.1 entry, RSA and P-384 signers", async () => {
    for (
      const options of [{ kind: "rekord" as const }, { signerKey: "rsa" as const }, {
        signerKey: "ecdsa-p384" as const,
      }]
    ) {
      const verified = await verifySignature((await sign(options)).signature, context());
      assert.equal(verified.subject, FIXTURE_SUBJECT, JSON.stringify(options));
    }
  });

  it("uses intermediates from the trust when the signature carries no chain", async () => {
    const signed = await sign({ chain: "none" });
    const trust: SigstoreTrust = { ...fx.trust, fulcioIntermediates: [fx.intermediate.pem] };
    const verified = await verifySignature(signed.signature, context({ trust }));
    assert.equal(verified.integratedTime, FIXTURE_INTEGRATED_TIME);
  });

  it("passes without an SCT when enforceSct is false", async () => {
    const signed = await sign({ sct: "none" });
    const ctx = context();
    const verified = await verifySignature(signed.signature, {
      ...ctx,
      policy: { ...ctx.policy, enforceSct: false },
    });
    assert.equal(verified.subject, FIXTURE_SUBJECT);
  });

  it("looks the entry up at rekor_url when there is no bundle and keeps the earliest valid entry", async () => {
    const signed = await sign({ bundle: false });
    const other = await sign({ bundle: false });
    const payloadSha256 = createHash("sha256").update(signed.payload).digest("hex");
    const later = signed.relog(FIXTURE_INTEGRATED_TIME + 120);
    const earlier = signed.relog(FIXTURE_INTEGRATED_TIME + 30);
    // Rekor's UUID is per tree: give the copies distinct tree IDs, as several shards would.
    const shard = (e: typeof later, tree: string) => ({ ...e, uuid: tree + e.uuid.slice(16) });
    await using rekor = startFakeRekor([
      { payloadSha256, entry: shard(earlier, "2222222222222222") },
      { payloadSha256, entry: other.rekorEntry }, // another signature's entry: invalid here, skipped
      { payloadSha256, entry: shard(later, "1111111111111111") },
    ]);
    const verified = await verifySignature(signed.signature, context({ rekorUrl: rekor.url }));
    assert.equal(verified.integratedTime, FIXTURE_INTEGRATED_TIME + 30);
    assert.equal(verified.logId, fx.rekor.logId);
    assert.equal(verified.content, signed.signature.signatureB64);
    assert.deepEqual(rekor.requests, [
      "POST /api/v1/index/retrieve",
      `GET /api/v1/log/entries/2222222222222222${earlier.uuid.slice(16)}`,
      `GET /api/v1/log/entries/${other.rekorEntry.uuid}`,
      `GET /api/v1/log/entries/1111111111111111${later.uuid.slice(16)}`,
    ]);
  });
});

describe("verifySignature rejects", () => {
  it("a signature without a certificate (no-certificate)", async () => {
    const signed = await sign();
    await assertRejected({ ...signed.signature, certificatePem: null }, "no-certificate", /no certificate/);
  });

  it("a certificate annotation that does not parse (malformed)", async () => {
    const signed = await sign();
    await assertRejected(
      {
        ...signed.signature,
        certificatePem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      },
      "malformed",
      /certificate annotation does not parse/,
    );
  });

  it("a certificate from an untrusted CA, even with its own root in the chain annotation (untrusted-chain)", async () => {
    await assertRejected((await sign({ ca: "rogue" })).signature, "untrusted-chain", /no certificate path/);
  });

  it("a chain annotation holding only the leaf's intermediate when that intermediate is rogue", async () => {
    const signed = await sign({ ca: "rogue", chain: fx.rogueIntermediate.pem });
    await assertRejected(signed.signature, "untrusted-chain", /no certificate path/);
  });

  it("a leaf whose chain annotation is missing and whose intermediate the trust does not hold", async () => {
    await assertRejected((await sign({ chain: "none" })).signature, "untrusted-chain", /no certificate path/);
  });

  it("a trusted root alone does not make a chain-annotation root an anchor", async () => {
    // Trust the rogue intermediate as an *intermediate*: without its root in the trust there is no anchor.
    const signed = await sign({ ca: "rogue" });
    const trust = { ...fx.trust, fulcioIntermediates: [fx.rogueIntermediate.pem] };
    await assertRejected(signed.signature, "untrusted-chain", /no certificate path/, context({ trust }));
  });

  it("a leaf without the CodeSigning usage (no-code-signing)", async () => {
    await assertRejected((await sign({ codeSigning: false })).signature, "no-code-signing", /CodeSigning/);
  });

  it("a leaf without an SCT when enforceSct (sct)", async () => {
    await assertRejected((await sign({ sct: "none" })).signature, "sct", /no embedded SCT/);
  });

  it("an SCT from an unknown CT log (sct)", async () => {
    await assertRejected((await sign({ sct: "unknown-log" })).signature, "sct", /not trusted/);
  });

  it("an SCT that does not verify with the trusted CT log key (sct)", async () => {
    const signed = await sign();
    const trust = { ...fx.trust, ctLogKeys: [{ logId: fx.ctLog.logId, publicKeyPem: fx.otherLog.pem }] };
    await assertRejected(signed.signature, "sct", /does not verify/, context({ trust }));
  });

  it("a tampered payload (bad-signature)", async () => {
    await assertRejected((await sign({ tamperPayload: true })).signature, "bad-signature", /does not verify/);
  });

  it("a signature annotation from another signature (bad-signature)", async () => {
    const signed = await sign();
    const other = await sign();
    await assertRejected(
      { ...signed.signature, signatureB64: other.signature.signatureB64 },
      "bad-signature",
      /does not verify/,
    );
  });

  it("a wrong subject (identity)", async () => {
    const signed = await sign({ identity: { subject: "mallory@example.com" } });
    await assertRejected(signed.signature, "identity", /subject "mallory@example.com" not allowed/);
  });

  it("a wrong issuer (identity)", async () => {
    const signed = await sign({ identity: { issuer: "https://evil.example", subject: FIXTURE_SUBJECT } });
    await assertRejected(signed.signature, "identity", /issuer "https:\/\/evil.example" not in allow-list/);
  });

  it("a certificate without the issuer extension (identity)", async () => {
    const signed = await sign({ identity: { issuer: null, subject: FIXTURE_SUBJECT } });
    await assertRejected(signed.signature, "identity", /no OIDC issuer/);
  });

  it("everything when the allowed subjects are empty (identity)", async () => {
    const signed = await sign();
    const ctx = context({ policy: { allowedSubjects: new Map(), enforceSct: true } });
    await assertRejected(signed.signature, "identity", /not in allow-list/, ctx);
  });

  it("an allowed subject under another issuer (identity: the pair counts)", async () => {
    const signed = await sign();
    const ctx = context({
      policy: { allowedSubjects: new Map([["https://other.example", [FIXTURE_SUBJECT]]]), enforceSct: true },
    });
    await assertRejected(signed.signature, "identity", /not in allow-list/, ctx);
  });

  it("a payload naming another image digest (wrong-image)", async () => {
    const signed = await sign({ payloadDigest: OTHER_DIGEST });
    await assertRejected(
      signed.signature,
      "wrong-image",
      new RegExp(`signs image ${OTHER_DIGEST}, not ${DIGEST}`),
    );
  });

  it("a payload that is not a cosign image signature (wrong-image)", async () => {
    const signed = await sign({ payloadType: "cosign container image attestation" });
    await assertRejected(
      signed.signature,
      "wrong-image",
      /payload type is not "cosign container image signature"/,
    );
  });

  it("an issuing certificate whose extended key usage excludes code signing (no-code-signing)", async () => {
    const { makeCert, CA_USAGE, SERVER_AUTH } = await import("./helpers.ts");
    const root = await makeCert({ name: "CN=eku-root", ca: {}, keyUsage: CA_USAGE });
    const inter = await makeCert({
      name: "CN=eku-inter",
      issuer: root,
      ca: { pathLength: 0 },
      keyUsage: CA_USAGE,
      eku: [SERVER_AUTH],
    });
    const leaf = await makeCert({ name: "CN=leaf", issuer: inter, eku: ["1.3.6.1.5.5.7.3.3"] });
    const signed = await sign();
    const trust = { ...fx.trust, fulcioRoots: [root.pem] };
    await assertRejected(
      { ...signed.signature, certificatePem: leaf.pem, chainPem: inter.pem },
      "no-code-signing",
      /issuing certificate does not allow the CodeSigning usage/,
      context({ trust }),
    );
  });

  it("a SET from an unknown Rekor key (tlog)", async () => {
    await assertRejected((await sign({ rekorKey: "unknown" })).signature, "tlog", /is not trusted/);
  });

  it("a SET from another key claiming the trusted log ID (tlog)", async () => {
    await assertRejected(
      (await sign({ rekorKey: "wrong" })).signature,
      "tlog",
      /SignedEntryTimestamp does not verify/,
    );
  });

  it("a bundle whose integrated time was changed (tlog)", async () => {
    const signed = await sign();
    const bundle = JSON.parse(signed.signature.bundleJson!);
    bundle.Payload.integratedTime -= 30;
    await assertRejected(
      { ...signed.signature, bundleJson: JSON.stringify(bundle) },
      "tlog",
      /SignedEntryTimestamp does not verify/,
    );
  });

  it("a certificate that expired before the integrated time (expired)", async () => {
    const signed = await sign({ integratedTime: FIXTURE_INTEGRATED_TIME + 3600 });
    await assertRejected(signed.signature, "expired", /not valid at the Rekor integrated time/);
  });

  it("a certificate issued after the integrated time (expired)", async () => {
    const signed = await sign({ integratedTime: FIXTURE_INTEGRATED_TIME - 3600 });
    await assertRejected(signed.signature, "expired", /not valid at the Rekor integrated time/);
  });

  it("no bundle with Rekor unreachable (no-bundle)", async () => {
    await assertRejected(
      (await sign({ bundle: false })).signature,
      "no-bundle",
      /Rekor index request .* failed/,
    );
  });

  it("no bundle and Rekor has no entry (no-bundle)", async () => {
    await using rekor = startFakeRekor([]);
    await assertRejected(
      (await sign({ bundle: false })).signature,
      "no-bundle",
      /has no entry for the payload/,
      context({ rekorUrl: rekor.url }),
    );
  });

  it("an aborted lookup gives an AttestorError, not a rejection", async () => {
    await using rekor = startFakeRekor([]);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      verifySignature(
        (await sign({ bundle: false })).signature,
        context({ rekorUrl: rekor.url, signal: controller.signal }),
      ),
      (err: unknown) => err instanceof AttestorError && err.reason === "cancelled",
    );
  });
});
