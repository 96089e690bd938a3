/**
 * Signed images through a real registry (Debian's docker-registry on 127.0.0.1), at the library level: the
 * image and its cosign `.sig` manifest are pushed in cosign's exact format (`src/testing/signed_images.ts`),
 * read back with the real registry client and `fetchCosignSignatures`, and every signature is checked with
 * `verifySignature`, for every case of issue 11 (the plugin-level run of the same cases is
 * tests/e2e/sigstore_e2e_test.ts).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRegistryClient } from "../../src/oci/registry.ts";
import { fetchCosignSignatures } from "../../src/sigstore/cosign_layers.ts";
import {
  type SignatureCheckContext,
  SignatureRejected,
  type SignatureRejection,
} from "../../src/sigstore/types.ts";
import { verifySignature } from "../../src/sigstore/verify_signature.ts";
import { registryTestGate, startTestRegistry, type TestRegistry } from "../../src/testing/registry.ts";
import {
  cosignSignatureImage,
  cosignTag,
  goJsonString,
  pushCosignSignatures,
  pushSignedImage,
} from "../../src/testing/signed_images.ts";
import {
  createSigstoreFixture,
  FIXTURE_CLOCK,
  FIXTURE_INTEGRATED_TIME,
  FIXTURE_ISSUER,
  FIXTURE_SUBJECT,
  type SignImageOptions,
  type SigstoreFixture,
} from "../../src/testing/sigstore_fixtures.ts";

const gate = await registryTestGate();
if (gate.mustFail) it("docker-registry is installed (CI requires it)", () => assert.fail(gate.mustFail!));

const REPO = "team/signed";

/** An https URL on a loopback port that was free a moment ago (connection refused). */
function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `https://127.0.0.1:${port}/`;
}
const closedRekorUrl = closedPortUrl();
const decoder = new TextDecoder();

describe("sigstore through the real docker-registry: push in cosign's format, read back, verify", {
  skip: gate.skip,
}, () => {
  let registry: TestRegistry;
  let fx: SigstoreFixture;
  const client = createRegistryClient({ getEnv: () => undefined });

  before(async () => {
    registry = await startTestRegistry();
    fx = await createSigstoreFixture();
  });
  after(async () => {
    client.close();
    await registry?.stop();
  });

  function context(digest: string, overrides: Partial<SignatureCheckContext["policy"]> = {}) {
    return {
      trust: fx.trust,
      policy: {
        allowedSubjects: new Map([[FIXTURE_ISSUER, [FIXTURE_SUBJECT]]]),
        enforceSct: true,
        ...overrides,
      },
      imageDigest: digest,
      // Nothing listens there: a signature without a bundle cannot be looked up.
      rekorUrl: closedRekorUrl,
      signal: AbortSignal.timeout(20_000),
    };
  }

  /** Pushes an image signed with `signs`, reads its signatures back and checks each. */
  async function roundTrip(
    signs: readonly Omit<SignImageOptions, "digest">[],
    policy: Partial<SignatureCheckContext["policy"]> = {},
  ) {
    const pushed = await pushSignedImage(registry, registry.host, REPO, fx, signs);
    const set = await fetchCosignSignatures(client, registry.host, REPO, pushed.image.digest);
    assert.ok(set !== null, "the .sig manifest is found");
    assert.deepEqual(set.problems, []);
    assert.deepEqual(
      set.signatures.map((s) => s.layerDigest),
      pushed.signatures.map((s) => s.layer.digest),
      "one signature per layer, in manifest order",
    );
    const outcomes = [];
    for (const signature of set.signatures) {
      try {
        outcomes.push(await verifySignature(signature, context(pushed.image.digest, policy)));
      } catch (err) {
        if (!(err instanceof SignatureRejected)) throw err;
        outcomes.push({ rejection: err.rejection, message: err.message });
      }
    }
    return { pushed, set, outcomes };
  }

  async function rejected(
    sign: Omit<SignImageOptions, "digest">,
    rejection: SignatureRejection,
    message: RegExp,
    policy: Partial<SignatureCheckContext["policy"]> = {},
  ) {
    const { outcomes } = await roundTrip([sign], policy);
    assert.equal(outcomes.length, 1);
    const outcome = outcomes[0] as { rejection: SignatureRejection; message: string };
    assert.equal(outcome.rejection, rejection, JSON.stringify(outcome));
    assert.match(outcome.message, message);
  }

  it("stores the .sig manifest and its config byte for byte in cosign's format", async () => {
    const { pushed } = await roundTrip([{}, { identity: { subject: "other@example.com" } }]);
    const tag = cosignTag(pushed.image.digest);
    const manifest = await client.getManifest(registry.host, REPO, tag);
    assert.ok(manifest !== null);
    assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.deepEqual(manifest.bytes, pushed.signatureImage!.manifest, "served exactly as pushed");
    const body = JSON.parse(decoder.decode(manifest.bytes));
    assert.deepEqual(Object.keys(body), ["schemaVersion", "mediaType", "config", "layers"]);
    assert.equal(body.config.mediaType, "application/vnd.oci.image.config.v1+json");
    assert.deepEqual(Object.keys(body.config), ["mediaType", "size", "digest"]);
    for (const [i, layer] of body.layers.entries()) {
      assert.deepEqual(Object.keys(layer), ["mediaType", "size", "digest", "annotations"]);
      assert.equal(layer.mediaType, "application/vnd.dev.cosign.simplesigning.v1+json");
      assert.deepEqual(Object.keys(layer.annotations), [
        "dev.cosignproject.cosign/signature",
        "dev.sigstore.cosign/bundle",
        "dev.sigstore.cosign/certificate",
        "dev.sigstore.cosign/chain",
      ]);
      assert.deepEqual(layer.annotations, pushed.signatures[i].layer.annotations);
    }
    const config = await client.getBlob(registry.host, REPO, body.config.digest, 1 << 20);
    const [a, b] = pushed.signatures.map((s) => s.layer.digest);
    assert.equal(
      decoder.decode(config),
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"},` +
        `{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${a}","${b}"]},` +
        `"config":{}}`,
    );
  });

  it("writes JSON strings as Go does", async () => {
    assert.equal(goJsonString("<a href='x'>&\u2028"), "\"\\u003ca href='x'\\u003e\\u0026\\u2028\"");
    const image = await cosignSignatureImage([{
      mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
      digest: `sha256:${"0".repeat(64)}`,
      size: 3,
      annotations: { "z": "<", "a": "1" },
    }]);
    assert.match(decoder.decode(image.manifest), /"annotations":\{"a":"1","z":"\\u003c"\}\}\]\}$/);
  });

  it("a signature by an allowed identity verifies, with its Rekor values", async () => {
    const { pushed, outcomes } = await roundTrip([{}]);
    const bundle = JSON.parse(pushed.signatures[0].signature.bundleJson!);
    assert.deepEqual(outcomes, [{
      layerDigest: pushed.signatures[0].layer.digest,
      subject: FIXTURE_SUBJECT,
      issuer: FIXTURE_ISSUER,
      content: pushed.signatures[0].signature.signatureB64,
      logId: fx.rekor.logId,
      integratedTime: FIXTURE_INTEGRATED_TIME,
    }]);
    assert.equal(bundle.Payload.logID, fx.rekor.logId);
  });

  it("several signatures, some invalid: each is judged on its own", async () => {
    const { pushed, outcomes } = await roundTrip([
      { tamperPayload: true },
      {},
      { identity: { subject: "mallory@example.com" } },
      { identity: { subject: "https://ci.example/release", san: "uri" } },
    ], { allowedSubjects: new Map([[FIXTURE_ISSUER, [FIXTURE_SUBJECT, "https://ci.example/release"]]]) });
    assert.deepEqual(
      outcomes.map((o) => "rejection" in o ? o.rejection : o.subject),
      ["bad-signature", FIXTURE_SUBJECT, "identity", "https://ci.example/release"],
    );
    assert.equal(pushed.signatures.length, 4);
  });

  it("an unsigned image has no .sig manifest", async () => {
    const pushed = await pushSignedImage(registry, registry.host, REPO, fx, []);
    assert.equal(await fetchCosignSignatures(client, registry.host, REPO, pushed.image.digest), null);
  });

  it("wrong subject", () =>
    rejected(
      { identity: { subject: "mallory@example.com" } },
      "identity",
      /subject "mallory@example.com" not allowed/,
    ));

  it("wrong issuer", () =>
    rejected(
      { identity: { issuer: "https://evil.example", subject: FIXTURE_SUBJECT } },
      "identity",
      /issuer "https:\/\/evil.example" not in allow-list/,
    ));

  it("tampered payload", () => rejected({ tamperPayload: true }, "bad-signature", /does not verify/));

  it("a signature copied from another image (its payload names the other digest)", async () => {
    const original = await pushSignedImage(registry, registry.host, REPO, fx, [{}]);
    const target = await registry.pushImage(REPO, null);
    await pushCosignSignatures(registry, REPO, target.digest, original.signatures);
    const set = await fetchCosignSignatures(client, registry.host, REPO, target.digest);
    assert.equal(set?.signatures.length, 1);
    await assert.rejects(verifySignature(set!.signatures[0], context(target.digest)), (err) => {
      assert.ok(err instanceof SignatureRejected);
      assert.equal(err.rejection, "wrong-image");
      assert.equal(err.message, `the payload signs image ${original.image.digest}, not ${target.digest}`);
      return true;
    });
    // The same signature on its own image verifies.
    const own = await fetchCosignSignatures(client, registry.host, REPO, original.image.digest);
    assert.equal(
      (await verifySignature(own!.signatures[0], context(original.image.digest))).subject,
      FIXTURE_SUBJECT,
    );
  });

  it("certificate expired before the integrated time", () =>
    rejected(
      { integratedTime: FIXTURE_CLOCK.getTime() / 1000 + 3600 },
      "expired",
      /was not valid at the Rekor integrated time/,
    ));

  it("no SCT: rejected with enforce_sct, accepted without", async () => {
    await rejected({ sct: "none" }, "sct", /^SCT: the certificate has no embedded SCT$/);
    const { outcomes } = await roundTrip([{ sct: "none" }], { enforceSct: false });
    assert.equal((outcomes[0] as { subject: string }).subject, FIXTURE_SUBJECT);
  });

  it("SET from an unknown Rekor key", () =>
    rejected(
      { rekorKey: "unknown" },
      "tlog",
      new RegExp(`^the Rekor log ${fx.otherLog.logId} is not trusted \\(no Rekor key with that log ID\\)$`),
    ));

  it("SET from a wrong key claiming the trusted log ID", () =>
    rejected(
      { rekorKey: "wrong" },
      "tlog",
      new RegExp(`^the SignedEntryTimestamp does not verify with the Rekor key of log ${fx.rekor.logId}$`),
    ));

  it("untrusted CA", () =>
    rejected(
      { ca: "rogue" },
      "untrusted-chain",
      /^certificate chain: no certificate path to a trusted root/,
    ));

  it("no CodeSigning usage", () => rejected({ codeSigning: false }, "no-code-signing", /CodeSigning/));

  it("no bundle and Rekor unreachable", async () => {
    const { outcomes } = await roundTrip([{ bundle: false }]);
    const outcome = outcomes[0] as { rejection: SignatureRejection; message: string };
    assert.equal(outcome.rejection, "no-bundle", JSON.stringify(outcome));
    assert.ok(
      outcome.message.startsWith(`the Rekor index request to ${closedRekorUrl} failed: `),
      outcome.message,
    );
  });
});
