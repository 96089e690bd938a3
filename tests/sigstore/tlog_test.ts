/**
 * The Rekor entry check (src/sigstore/tlog.ts): SET, key lookup and validity window, and each comparison of
 * the body with the signature, certificate and payload. Bodies are re-signed with the trusted Rekor key so
 * that only the body check can fail.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { sign as cryptoSign } from "node:crypto";
import { json } from "@sigstore/core";
import { parseCosignBundle, type TlogEntry, verifyTlogEntry } from "../../src/sigstore/tlog.ts";
import { SignatureRejected } from "../../src/sigstore/types.ts";
import { pemBlockDer } from "./helpers.ts";
import {
  createSigstoreFixture,
  FIXTURE_INTEGRATED_TIME,
  type SignedImage,
  type SigstoreFixture,
} from "../../src/testing/sigstore_fixtures.ts";

const DIGEST = `sha256:${"c".repeat(64)}`;
let fx: SigstoreFixture;
let signed: SignedImage;
before(async () => {
  fx = await createSigstoreFixture();
  signed = await fx.signImage({ digest: DIGEST });
});

function input(overrides: Partial<Parameters<typeof verifyTlogEntry>[1]> = {}) {
  return {
    rekorKeys: fx.trust.rekorKeys,
    payload: signed.payload,
    signatureB64: signed.signature.signatureB64,
    leafDer: pemBlockDer(signed.leafPem),
    ...overrides,
  };
}

/** The bundle's entry with a changed body, re-signed by the trusted Rekor key. */
interface Body {
  kind: string;
  apiVersion: string;
  spec: {
    data: { hash: { algorithm: string; value: string } };
    signature: { content: string; publicKey: { content: string } };
  };
}

function withBody(change: (body: Body) => void): TlogEntry {
  const entry = parseCosignBundle(signed.signature.bundleJson!);
  const body = JSON.parse(Buffer.from(entry.body, "base64").toString()) as Body;
  change(body);
  const bodyB64 = Buffer.from(JSON.stringify(body)).toString("base64");
  const set = cryptoSign(
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

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SignatureRejected, String(err));
    assert.equal(err.rejection, "tlog");
    assert.match(err.message, message);
    return true;
  });
}

describe("verifyTlogEntry", () => {
  it("verifies the fixture bundle and gives its time, log ID, index and content", () => {
    const entry = parseCosignBundle(signed.signature.bundleJson!);
    assert.deepEqual(verifyTlogEntry(entry, input()), {
      integratedTime: FIXTURE_INTEGRATED_TIME,
      logId: fx.rekor.logId,
      logIndex: entry.logIndex,
      content: signed.signature.signatureB64,
      kind: "hashedrekord",
      signedEntryTimestamp: JSON.parse(signed.signature.bundleJson!).SignedEntryTimestamp,
    });
  });

  it("re-signing an unchanged body still verifies (the helper itself is sound)", () => {
    assert.equal(verifyTlogEntry(withBody(() => {}), input()).kind, "hashedrekord");
  });

  it("rejects an altered SET field (logIndex)", () => {
    const entry = parseCosignBundle(signed.signature.bundleJson!);
    rejects(() => verifyTlogEntry({ ...entry, logIndex: entry.logIndex + 1 }, input()), /does not verify/);
  });

  it("rejects a Rekor key whose validity does not cover the integrated time", () => {
    const entry = parseCosignBundle(signed.signature.bundleJson!);
    const late = [{ ...fx.trust.rekorKeys[0], validFrom: new Date((FIXTURE_INTEGRATED_TIME + 1) * 1000) }];
    rejects(() => verifyTlogEntry(entry, input({ rekorKeys: late })), /not valid at the integrated time/);
    const early = [{ ...fx.trust.rekorKeys[0], validUntil: new Date((FIXTURE_INTEGRATED_TIME - 1) * 1000) }];
    rejects(() => verifyTlogEntry(entry, input({ rekorKeys: early })), /not valid at the integrated time/);
  });

  it("rejects a body signature that is not the layer's", () => {
    rejects(
      () => verifyTlogEntry(withBody((b) => (b.spec.signature.content = "AAAA")), input()),
      /signature in the Rekor entry body does not match/,
    );
  });

  it("rejects an empty body signature (cosign would skip the comparison)", () => {
    rejects(
      () => verifyTlogEntry(withBody((b) => (b.spec.signature.content = "")), input()),
      /no signature content/,
    );
  });

  it("rejects a body certificate that is not the leaf", () => {
    const other = Buffer.from(fx.intermediate.pem).toString("base64");
    rejects(
      () => verifyTlogEntry(withBody((b) => (b.spec.signature.publicKey.content = other)), input()),
      /not the signature's certificate/,
    );
  });

  it("rejects a body hash that is not the payload's, or not sha256", () => {
    rejects(
      () => verifyTlogEntry(withBody((b) => (b.spec.data.hash.value = "0".repeat(64))), input()),
      /hash does not match the payload/,
    );
    rejects(
      () => verifyTlogEntry(withBody((b) => (b.spec.data.hash.algorithm = "sha512")), input()),
      /not sha256/,
    );
  });

  it("rejects an unknown kind or version", () => {
    rejects(
      () => verifyTlogEntry(withBody((b) => (b.kind = "intoto")), input()),
      /kind "intoto" .* not supported/,
    );
    rejects(
      () => verifyTlogEntry(withBody((b) => (b.apiVersion = "0.0.2")), input()),
      /not supported/,
    );
  });

  it("rejects a Rekor key that is not ECDSA", async () => {
    const { generateKeyPairSync, createHash } = await import("node:crypto");
    const { publicKey } = generateKeyPairSync("ed25519");
    const spki = publicKey.export({ format: "der", type: "spki" }) as Buffer;
    const logId = createHash("sha256").update(spki).digest("hex");
    const entry = { ...parseCosignBundle(signed.signature.bundleJson!), logId };
    const keys = [{ logId, publicKeyPem: publicKey.export({ format: "pem", type: "spki" }) as string }];
    rejects(() => verifyTlogEntry(entry, input({ rekorKeys: keys })), /not an ECDSA key/);
  });
});

describe("parseCosignBundle", () => {
  it("rejects text that is not a bundle, naming the field", () => {
    rejects(() => parseCosignBundle("{"), /not JSON/);
    rejects(() => parseCosignBundle("{}"), /no Payload/);
    const good = JSON.parse(signed.signature.bundleJson!);
    for (
      const [field, value, message] of [
        ["integratedTime", 0, /integratedTime/],
        ["integratedTime", 1.5, /integratedTime/],
        ["logIndex", -1, /logIndex/],
        ["logID", "ABC", /logID/],
        ["body", 7, /no body/],
      ] as const
    ) {
      const bad = structuredClone(good);
      bad.Payload[field] = value;
      rejects(() => parseCosignBundle(JSON.stringify(bad)), message);
    }
    rejects(
      () => parseCosignBundle(JSON.stringify({ ...good, SignedEntryTimestamp: "" })),
      /SignedEntryTimestamp/,
    );
    rejects(() => parseCosignBundle(" ".repeat(300_000)), /over/);
  });
});
