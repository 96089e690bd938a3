/**
 * The Rekor transparency-log check of one cosign signature (cosign v2.2 `VerifyBundle`, offline): the
 * signed entry timestamp (SET) of a Rekor entry, made by a trusted Rekor key, and the entry body matching the
 * signature, the leaf certificate and the payload. Used for the `dev.sigstore.cosign/bundle` annotation and
 * for entries looked up online (`rekor_lookup.ts`).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createPublicKey, type KeyObject, verify as cryptoVerify } from "node:crypto";
import { json } from "@sigstore/core";
import { type LogKey, SignatureRejected } from "./types.ts";
import { parsePemBlocks } from "./x509.ts";

/** One Rekor entry as the SET covers it, plus the SET. */
export interface TlogEntry {
  /** The base64 (standard) canonical entry body. */
  readonly body: string;
  /** The integrated time, Unix seconds. */
  readonly integratedTime: number;
  /** The log index. */
  readonly logIndex: number;
  /** The log ID: hex sha256 of the Rekor key's SPKI DER. */
  readonly logId: string;
  /** The SET: base64 (standard) ECDSA signature. */
  readonly signedEntryTimestamp: string;
}

/** What a verified entry established. */
export interface VerifiedTlogEntry {
  /** The trusted integrated time, Unix seconds. */
  readonly integratedTime: number;
  /** The log ID (lowercase hex). */
  readonly logId: string;
  /** The log index. */
  readonly logIndex: number;
  /** `spec.signature.content` of the body (base64 signature). */
  readonly content: string;
  /** The body kind (`hashedrekord` or `rekord`). */
  readonly kind: string;
  /** The verified SET, standard base64 (the bytes re-encoded, as upstream's selector). */
  readonly signedEntryTimestamp: string;
}

/** What the entry is checked against. */
export interface TlogCheckInput {
  /** Trusted Rekor keys. */
  readonly rekorKeys: readonly LogKey[];
  /** The signed payload bytes. */
  readonly payload: Uint8Array;
  /** The layer's signature annotation (base64). */
  readonly signatureB64: string;
  /** The DER of the leaf certificate. */
  readonly leafDer: Uint8Array;
}

/** The largest bundle annotation or entry body accepted, in characters. */
export const MAX_BUNDLE_CHARS = 256 * 1024;

const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX64 = /^[0-9a-f]{64}$/;

function reject(message: string): never {
  throw new SignatureRejected("tlog", message);
}

/**
 * Checks that a Rekor entry body's public key field (base64 of one PEM certificate) is exactly the
 * certificate that signed (`leafDer`), else rejects naming what the certificate belongs to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requireBodyCertificate } from "./tlog.ts";
 * assert.throws(
 *   () => requireBodyCertificate("%%%", new Uint8Array([1]), "signature"),
 *   /public key is not base64/,
 * );
 * ```
 *
 * @param publicKeyB64 The body's field, standard base64.
 * @param leafDer The DER of the certificate that signed.
 * @param owner Whose certificate it must be (`signature` or `attestation`), for the message.
 * @throws {SignatureRejected} Not base64, not PEM, not one block, or another certificate.
 */
export function requireBodyCertificate(
  publicKeyB64: string,
  leafDer: Uint8Array,
  owner: "signature" | "attestation",
): void {
  const pemBytes = decodeBase64Strict(publicKeyB64);
  if (!pemBytes) reject("the Rekor entry body's public key is not base64");
  let blocks;
  try {
    blocks = parsePemBlocks(pemBytes.toString("utf8"));
  } catch (err) {
    reject(
      `the Rekor entry body's public key is not PEM: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (blocks.length !== 1 || !blocks[0].der.equals(Buffer.from(leafDer))) {
    reject(`the certificate in the Rekor entry body is not the ${owner}'s certificate`);
  }
}

/**
 * Decodes standard base64 strictly (canonical padding, no whitespace).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBase64Strict } from "./tlog.ts";
 * assert.deepEqual([...decodeBase64Strict("AAEC")!], [0, 1, 2]);
 * assert.equal(decodeBase64Strict("AAE"), undefined);
 * ```
 *
 * @param text The base64 text.
 * @returns The bytes, or undefined when the text is not strict base64.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (!STRICT_B64.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? bytes : undefined;
}

/**
 * Parses the cosign bundle annotation
 * (`{"SignedEntryTimestamp":…,"Payload":{"body":…,"integratedTime":…,"logIndex":…,"logID":…}}`).
 *
 * @param text The annotation value.
 * @returns The entry.
 * @throws SignatureRejected `tlog` when it is not a well-formed bundle.
 */
export function parseCosignBundle(text: string): TlogEntry {
  if (text.length > MAX_BUNDLE_CHARS) reject(`the Rekor bundle is over ${MAX_BUNDLE_CHARS} characters`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    reject("the Rekor bundle is not JSON");
  }
  const bundle = value as { SignedEntryTimestamp?: unknown; Payload?: Record<string, unknown> } | null;
  if (!bundle || typeof bundle !== "object" || !bundle.Payload || typeof bundle.Payload !== "object") {
    reject("the Rekor bundle has no Payload object");
  }
  const p = bundle.Payload;
  return checkEntryShape({
    body: p.body,
    integratedTime: p.integratedTime,
    logIndex: p.logIndex,
    logId: p.logID,
    signedEntryTimestamp: bundle.SignedEntryTimestamp,
  }, "the Rekor bundle");
}

/**
 * Checks the types of an entry's fields (from a bundle or a Rekor API answer).
 *
 * @param raw The fields as parsed from JSON.
 * @param what Names the source in errors.
 * @returns The typed entry.
 * @throws SignatureRejected `tlog` naming the bad field.
 */
export function checkEntryShape(raw: Record<keyof TlogEntry, unknown>, what: string): TlogEntry {
  const { body, integratedTime, logIndex, logId, signedEntryTimestamp } = raw;
  if (typeof body !== "string" || body === "") reject(`${what} has no body`);
  if (body.length > MAX_BUNDLE_CHARS) reject(`${what} body is over ${MAX_BUNDLE_CHARS} characters`);
  if (typeof integratedTime !== "number" || !Number.isSafeInteger(integratedTime) || integratedTime <= 0) {
    reject(`${what} has no valid integratedTime`);
  }
  if (typeof logIndex !== "number" || !Number.isSafeInteger(logIndex) || logIndex < 0) {
    reject(`${what} has no valid logIndex`);
  }
  if (typeof logId !== "string" || !HEX64.test(logId)) {
    reject(`${what} has no valid logID (64 lowercase hex)`);
  }
  if (typeof signedEntryTimestamp !== "string" || signedEntryTimestamp === "") {
    reject(`${what} has no SignedEntryTimestamp`);
  }
  return { body, integratedTime, logIndex, logId, signedEntryTimestamp };
}

interface BodyFields {
  readonly kind: string;
  readonly hashAlgorithm: unknown;
  readonly hashValue: unknown;
  readonly signature: unknown;
  readonly publicKey: unknown;
}

function bodyFields(bodyB64: string): BodyFields {
  const bytes = decodeBase64Strict(bodyB64);
  if (!bytes) reject("the Rekor entry body is not base64");
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    reject("the Rekor entry body is not JSON");
  }
  // deno-lint-ignore no-explicit-any
  const b = body as any;
  if (!b || typeof b !== "object") reject("the Rekor entry body is not an object");
  const kind = `${String(b.kind)} ${String(b.apiVersion)}`;
  if (kind !== "hashedrekord 0.0.1" && kind !== "rekord 0.0.1") {
    reject(
      `the Rekor entry kind ${JSON.stringify(String(b.kind)).slice(0, 64)} version ${
        JSON.stringify(String(b.apiVersion)).slice(0, 32)
      } is not supported (hashedrekord 0.0.1, rekord 0.0.1)`,
    );
  }
  const spec = b.spec;
  return {
    kind: b.kind,
    hashAlgorithm: spec?.data?.hash?.algorithm,
    hashValue: spec?.data?.hash?.value,
    signature: spec?.signature?.content,
    publicKey: spec?.signature?.publicKey?.content,
  };
}

function findRekorKey(keys: readonly LogKey[], logId: string, integratedTime: number): KeyObject {
  const matching = keys.filter((k) => k.logId.toLowerCase() === logId);
  if (matching.length === 0) reject(`the Rekor log ${logId} is not trusted (no Rekor key with that log ID)`);
  const when = new Date(integratedTime * 1000);
  const valid = matching.filter((k) =>
    (!k.validFrom || k.validFrom <= when) && (!k.validUntil || when <= k.validUntil)
  );
  if (valid.length === 0) {
    reject(`the Rekor key of log ${logId} is not valid at the integrated time ${integratedTime}`);
  }
  const key = createPublicKey(valid[0].publicKeyPem);
  if (key.asymmetricKeyType !== "ec") reject(`the Rekor key of log ${logId} is not an ECDSA key`);
  return key;
}

/**
 * Verifies one Rekor entry against a signature, offline, as cosign v2.2 does for a bundle: the Rekor key is
 * found by log ID and must be valid at the integrated time; the SET is an ECDSA-SHA256 signature over the
 * RFC 8785 canonical JSON of `{body, integratedTime, logID, logIndex}`; the body (`hashedrekord` or `rekord`
 * 0.0.1, anything else is refused) must carry the layer's signature, the leaf certificate (compared as DER)
 * and the sha256 of the payload. Stricter than cosign: an empty body signature does not skip the comparison.
 *
 * @param entry The entry.
 * @param input The signature, leaf and trusted keys.
 * @returns The trusted integrated time, log ID, log index and body signature content.
 * @throws SignatureRejected `tlog` naming the failed check.
 */
export function verifyTlogEntry(entry: TlogEntry, input: TlogCheckInput): VerifiedTlogEntry {
  const signedEntryTimestamp = verifySignedEntryTimestamp(entry, input.rekorKeys);

  const fields = bodyFields(entry.body);
  if (typeof fields.signature !== "string" || fields.signature === "") {
    reject("the Rekor entry body has no signature content");
  }
  if (fields.signature !== input.signatureB64) {
    reject("the signature in the Rekor entry body does not match the layer's signature");
  }
  if (typeof fields.publicKey !== "string") reject("the Rekor entry body has no public key content");
  requireBodyCertificate(fields.publicKey, input.leafDer, "signature");
  if (fields.hashAlgorithm !== "sha256") {
    reject(
      `the Rekor entry body's hash algorithm is ${
        JSON.stringify(String(fields.hashAlgorithm)).slice(0, 32)
      }, not sha256`,
    );
  }
  const payloadHash = createHash("sha256").update(input.payload).digest("hex");
  if (fields.hashValue !== payloadHash) {
    reject(`the Rekor entry body's hash does not match the payload (sha256:${payloadHash})`);
  }
  return {
    integratedTime: entry.integratedTime,
    logId: entry.logId,
    logIndex: entry.logIndex,
    content: fields.signature,
    kind: fields.kind,
    signedEntryTimestamp,
  };
}

/**
 * Verifies the SET of an entry: the Rekor key is found by log ID and must be valid at the integrated time;
 * the SET is an ECDSA-SHA256 signature over the RFC 8785 canonical JSON of
 * `{body, integratedTime, logID, logIndex}`. The body itself is not looked at.
 *
 * @param entry The entry.
 * @param rekorKeys Trusted Rekor keys.
 * @returns The SET, standard base64.
 * @throws SignatureRejected `tlog` naming the failed check.
 */
export function verifySignedEntryTimestamp(entry: TlogEntry, rekorKeys: readonly LogKey[]): string {
  const key = findRekorKey(rekorKeys, entry.logId, entry.integratedTime);
  const set = decodeBase64Strict(entry.signedEntryTimestamp);
  if (!set) reject("the SignedEntryTimestamp is not base64");
  const signed = json.canonicalize({
    body: entry.body,
    integratedTime: entry.integratedTime,
    logID: entry.logId,
    logIndex: entry.logIndex,
  });
  let ok = false;
  try {
    ok = cryptoVerify("sha256", Buffer.from(signed, "utf8"), key, set);
  } catch {
    ok = false;
  }
  if (!ok) reject(`the SignedEntryTimestamp does not verify with the Rekor key of log ${entry.logId}`);
  return set.toString("base64");
}
