/**
 * DSSE envelopes and in-toto subjects (src/sigstore/dsse.ts): the PAE of the DSSE specification, the two
 * base64 alphabets, signatures over the PAE (not the raw payload), and the subject check.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { generateKeyPairSync, sign } from "node:crypto";
import {
  checkInTotoSubject,
  decodeDsseBase64,
  dssePae,
  IN_TOTO_PAYLOAD_TYPE,
  MAX_DSSE_SIGNATURES,
  parseDsseEnvelope,
  verifyDsseEnvelope,
} from "../../src/sigstore/dsse.ts";
import { SignatureRejected } from "../../src/sigstore/types.ts";

const enc = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function rejected(fn: () => unknown, rejection: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SignatureRejected, String(err));
    assert.equal(err.rejection, rejection);
    assert.match(err.message, message);
    return true;
  });
}

describe("dssePae", () => {
  it("matches the DSSE specification's example, lengths in bytes", () => {
    assert.equal(
      dssePae("http://example.com/HelloWorld", Buffer.from("hello world")).toString(),
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
    assert.equal(dssePae("t", Buffer.from("é")).toString(), "DSSEv1 1 t 2 é");
  });
});

describe("decodeDsseBase64", () => {
  it("takes standard and URL-safe padded base64, never a mix or junk", () => {
    assert.deepEqual([...decodeDsseBase64("+/8=")!], [0xfb, 0xff]);
    assert.deepEqual([...decodeDsseBase64("-_8=")!], [0xfb, 0xff]);
    assert.equal(decodeDsseBase64("-/8="), undefined);
    assert.equal(decodeDsseBase64("+_8="), undefined);
    assert.equal(decodeDsseBase64("AB C"), undefined);
  });
});

describe("verifyDsseEnvelope", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const statement = Buffer.from('{"subject":[]}');
  const paeSig = sign("sha256", dssePae(IN_TOTO_PAYLOAD_TYPE, statement), privateKey).toString("base64");
  const envelope = (sigs: string[], payloadType = IN_TOTO_PAYLOAD_TYPE) =>
    parseDsseEnvelope(
      enc({ payloadType, payload: statement.toString("base64"), signatures: sigs.map((sig) => ({ sig })) }),
    );

  it("passes when one signature over the PAE verifies with the key", () => {
    const foreign = sign("sha256", dssePae(IN_TOTO_PAYLOAD_TYPE, statement), other.privateKey).toString(
      "base64",
    );
    verifyDsseEnvelope(envelope([paeSig]), publicKey);
    verifyDsseEnvelope(envelope([foreign, paeSig]), publicKey);
    assert.deepEqual(envelope([paeSig]).payload, statement);
  });

  it("fails for another key, a signature over the raw payload, or another payload type", () => {
    rejected(() => verifyDsseEnvelope(envelope([paeSig]), other.publicKey), "bad-signature", /no signature/);
    const raw = sign("sha256", statement, privateKey).toString("base64");
    rejected(() => verifyDsseEnvelope(envelope([raw]), publicKey), "bad-signature", /no signature/);
    const typed = sign("sha256", dssePae("text/plain", statement), privateKey).toString("base64");
    rejected(
      () => verifyDsseEnvelope(envelope([typed], "text/plain"), publicKey),
      "malformed",
      /invalid payloadType/,
    );
  });

  it("refuses malformed envelopes", () => {
    rejected(() => parseDsseEnvelope(new Uint8Array([0xff])), "malformed", /not a JSON DSSE envelope/);
    rejected(() => parseDsseEnvelope(enc({ payload: "", signatures: [] })), "malformed", /no payloadType/);
    rejected(() => parseDsseEnvelope(enc({ payloadType: "t", signatures: [] })), "malformed", /no payload$/);
    rejected(
      () => parseDsseEnvelope(enc({ payloadType: "t", payload: "", signatures: [{ sig: "" }] })),
      "malformed",
      /signature 0 is not base64/,
    );
    const many = Array.from({ length: MAX_DSSE_SIGNATURES + 1 }, () => ({ sig: paeSig }));
    rejected(
      () => parseDsseEnvelope(enc({ payloadType: "t", payload: "", signatures: many })),
      "malformed",
      /more than 16/,
    );
  });
});

describe("checkInTotoSubject", () => {
  const hex = "a".repeat(64);
  it("needs a subject whose sha256 digest is the image's", () => {
    const statement = (subject: unknown) => enc({ predicateType: "p", subject });
    assert.equal(
      checkInTotoSubject(
        statement([{ digest: { sha512: "x" } }, { digest: { sha256: hex } }]),
        `sha256:${hex}`,
      ),
      "p",
    );
    rejected(
      () => checkInTotoSubject(statement([{ digest: { sha256: hex.toUpperCase() } }]), `sha256:${hex}`),
      "wrong-image",
      /do not name/,
    );
    rejected(() => checkInTotoSubject(statement([]), `sha256:${hex}`), "wrong-image", /do not name/);
    rejected(() => checkInTotoSubject(statement("x"), `sha256:${hex}`), "malformed", /no subject list/);
    rejected(() => checkInTotoSubject(new Uint8Array([0x7b]), `sha256:${hex}`), "malformed", /not a JSON/);
  });
});
