/**
 * The Rekor check of an attestation (src/sigstore/tlog_attestation.ts): the three kinds cosign writes, and
 * bodies re-signed by the trusted Rekor key with one field changed, so that only the body check can fail.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { sign } from "node:crypto";
import { json } from "@sigstore/core";
import { parseCosignBundle, type TlogEntry } from "../../src/sigstore/tlog.ts";
import { verifyAttestationTlogEntry } from "../../src/sigstore/tlog_attestation.ts";
import { SignatureRejected } from "../../src/sigstore/types.ts";
import {
  type AttestedImage,
  createSigstoreFixture,
  FIXTURE_INTEGRATED_TIME,
  type SigstoreFixture,
} from "../../src/testing/sigstore_fixtures.ts";
import { pemBlockDer } from "./helpers.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;
let fx: SigstoreFixture;
before(async () => {
  fx = await createSigstoreFixture();
});

function input(att: AttestedImage) {
  return { rekorKeys: fx.trust.rekorKeys, envelope: att.envelope, leafDer: pemBlockDer(att.leafPem) };
}

/** The attestation's entry with its body changed by `edit` and the SET made again by the trusted key. */
function resigned(att: AttestedImage, edit: (body: Record<string, unknown>) => unknown): TlogEntry {
  const entry = parseCosignBundle(att.attestation.bundleJson!);
  const body = JSON.parse(Buffer.from(entry.body, "base64").toString());
  const changed = edit(body) ?? body;
  const bodyB64 = Buffer.from(typeof changed === "string" ? changed : JSON.stringify(changed)).toString(
    "base64",
  );
  const set = sign(
    "sha256",
    Buffer.from(json.canonicalize({
      body: bodyB64,
      integratedTime: entry.integratedTime,
      logID: entry.logId,
      logIndex: entry.logIndex,
    })),
    fx.rekor.privateKey,
  ).toString("base64");
  return { ...entry, body: bodyB64, signedEntryTimestamp: set };
}

function rejected(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SignatureRejected, String(err));
    assert.equal(err.rejection, "tlog");
    assert.match(err.message, message);
    return true;
  });
}

describe("verifyAttestationTlogEntry", () => {
  it("verifies intoto 0.0.1, intoto 0.0.2 and dsse 0.0.1 entries", async () => {
    for (
      const [kind, name] of [["intoto-0.0.1", "intoto 0.0.1"], ["intoto-0.0.2", "intoto 0.0.2"], [
        "dsse-0.0.1",
        "dsse 0.0.1",
      ]] as const
    ) {
      const att = await fx.attestImage({ digest: DIGEST, kind });
      const entry = parseCosignBundle(att.attestation.bundleJson!);
      const verified = verifyAttestationTlogEntry(entry, input(att));
      assert.deepEqual(verified, {
        integratedTime: FIXTURE_INTEGRATED_TIME,
        logId: fx.rekor.logId,
        logIndex: entry.logIndex,
        kind: name,
        signedEntryTimestamp: entry.signedEntryTimestamp,
      });
      // The helper itself is sound: re-signing an unchanged body still verifies.
      assert.equal(verifyAttestationTlogEntry(resigned(att, () => {}), input(att)).kind, name);
    }
  });

  it("refuses an entry that is not the attestation's", async () => {
    const att = await fx.attestImage({ digest: DIGEST });
    const other = await fx.attestImage({ digest: DIGEST });
    rejected(
      () => verifyAttestationTlogEntry(parseCosignBundle(other.attestation.bundleJson!), input(att)),
      /hash does not match/,
    );
    rejected(
      () =>
        verifyAttestationTlogEntry(parseCosignBundle(att.attestation.bundleJson!), {
          ...input(att),
          envelope: other.envelope,
        }),
      /hash does not match/,
    );
  });

  it("refuses bodies cosign would refuse", async () => {
    // deno-lint-ignore no-explicit-any
    type Body = any;
    const intoto = await fx.attestImage({ digest: DIGEST });
    const dsse = await fx.attestImage({ digest: DIGEST, kind: "dsse-0.0.1" });
    const v2 = await fx.attestImage({ digest: DIGEST, kind: "intoto-0.0.2" });
    const cases: [AttestedImage, (b: Body) => unknown, RegExp][] = [
      [intoto, (b) => void (b.spec.content.hash.algorithm = "sha512"), /hash algorithm is "sha512"/],
      [intoto, (b) => void delete b.spec.content.hash, /hash algorithm is "undefined"/],
      [intoto, (b) => void delete b.spec.publicKey, /no public key/],
      [intoto, (b) => void (b.spec.publicKey = "%%%"), /public key is not base64/],
      [intoto, (b) => void (b.spec.publicKey = btoa("junk")), /not PEM/],
      [intoto, (b) => void (b.apiVersion = "0.0.3"), /not supported for an attestation/],
      [intoto, () => "not json", /not JSON/],
      [dsse, (b) => void b.spec.signatures.push(b.spec.signatures[0]), /2 signatures \(one is supported/],
      [dsse, (b) => void (b.spec.signatures = []), /no signature/],
      [v2, (b) => void b.spec.content.envelope.signatures.push({}), /2 envelope signatures/],
    ];
    for (const [att, edit, message] of cases) {
      rejected(() => verifyAttestationTlogEntry(resigned(att, edit), input(att)), message);
    }
  });

  it("checks the SET before the body", async () => {
    const att = await fx.attestImage({ digest: DIGEST });
    const entry = parseCosignBundle(att.attestation.bundleJson!);
    rejected(
      () => verifyAttestationTlogEntry({ ...entry, integratedTime: entry.integratedTime + 1 }, input(att)),
      /SignedEntryTimestamp does not verify/,
    );
  });
});
