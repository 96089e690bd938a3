/**
 * DSSE envelopes and in-toto statements, as cosign attaches attestations to an image (the `.att` tag: one
 * `application/vnd.dsse.envelope.v1+json` layer per attestation; cosign `verifyOCIAttestation` with
 * go-securesystemslib's `dsse.EnvelopeVerifier`):
 *
 * - the envelope is `{"payloadType":…,"payload":"<base64>","signatures":[{"keyid":…,"sig":"<base64>"}]}`;
 *   base64 is standard or URL-safe, padded (as go-securesystemslib decodes it);
 * - `payloadType` must be `application/vnd.in-toto+json`;
 * - a signature is over the pre-authentication encoding (PAE) `DSSEv1 <len> <type> <len> <payload>`; the
 *   envelope passes when at least one of its signatures verifies with the leaf key (explicit digest, see
 *   `verifyPayloadSignature`);
 * - stricter than upstream (which sets no claim verifier): the statement's `subject` must name the image
 *   digest (`digest.sha256`), as cosign's own `IntotoSubjectClaimVerifier` would.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { KeyObject } from "node:crypto";
import { decodeBase64Strict } from "./tlog.ts";
import { SignatureRejected } from "./types.ts";
import { verifyPayloadSignature } from "./verify_signature.ts";

/** The media type of a cosign attestation layer. */
export const DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
/** The only DSSE payload type cosign accepts for an image attestation. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** The most signatures read from one envelope. */
export const MAX_DSSE_SIGNATURES = 16;

/** A parsed DSSE envelope. */
export interface DsseEnvelope {
  /** `payloadType`. */
  readonly payloadType: string;
  /** The decoded payload. */
  readonly payload: Buffer;
  /** The decoded signatures. */
  readonly signatures: readonly Buffer[];
}

function malformed(message: string): never {
  throw new SignatureRejected("malformed", message);
}

/**
 * Decodes DSSE base64: standard or URL-safe alphabet, canonical padding (go-securesystemslib tries both).
 *
 * @param text The base64 text.
 * @returns The bytes, or undefined when it is neither.
 */
export function decodeDsseBase64(text: string): Buffer | undefined {
  const standard = decodeBase64Strict(text);
  if (standard) return standard;
  if (/[+/]/.test(text)) return undefined;
  return decodeBase64Strict(text.replaceAll("-", "+").replaceAll("_", "/"));
}

/**
 * The DSSE pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(payload) SP payload`, lengths
 * in bytes as ASCII decimal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dssePae } from "./dsse.ts";
 * assert.equal(dssePae("a/b", new TextEncoder().encode("hi")).toString(), "DSSEv1 3 a/b 2 hi");
 * ```
 *
 * @param payloadType The payload type.
 * @param payload The payload bytes.
 * @returns The bytes that are signed.
 */
export function dssePae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "utf8"),
    type,
    Buffer.from(` ${payload.length} `, "utf8"),
    payload,
  ]);
}

/**
 * Parses a DSSE envelope (the `.att` layer blob).
 *
 * @param bytes The envelope bytes.
 * @returns The envelope.
 * @throws SignatureRejected `malformed` naming the problem.
 */
export function parseDsseEnvelope(bytes: Uint8Array): DsseEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    malformed("the attestation is not a JSON DSSE envelope");
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    malformed("the attestation is not a JSON DSSE envelope");
  }
  const env = value as Record<string, unknown>;
  if (typeof env.payloadType !== "string") malformed("the DSSE envelope has no payloadType");
  if (typeof env.payload !== "string") malformed("the DSSE envelope has no payload");
  const payload = decodeDsseBase64(env.payload);
  if (!payload) malformed("the DSSE envelope's payload is not base64");
  if (!Array.isArray(env.signatures) || env.signatures.length === 0) {
    malformed("the DSSE envelope has no signatures");
  }
  if (env.signatures.length > MAX_DSSE_SIGNATURES) {
    malformed(`the DSSE envelope has ${env.signatures.length} signatures, more than ${MAX_DSSE_SIGNATURES}`);
  }
  const signatures = env.signatures.map((s: unknown, i: number) => {
    const sig = (s as { sig?: unknown } | null)?.sig;
    const bytes = typeof sig === "string" ? decodeDsseBase64(sig) : undefined;
    if (!bytes || bytes.length === 0) malformed(`DSSE signature ${i} is not base64`);
    return bytes;
  });
  return { payloadType: env.payloadType, payload, signatures };
}

/**
 * Checks an attestation envelope: the in-toto payload type and at least one signature over the PAE that
 * verifies with the leaf key.
 *
 * @param envelope The parsed envelope.
 * @param key The leaf certificate's public key.
 * @throws SignatureRejected `malformed` (payload type) or `bad-signature`.
 */
export function verifyDsseEnvelope(envelope: DsseEnvelope, key: KeyObject): void {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    malformed(
      `invalid payloadType ${JSON.stringify(envelope.payloadType.slice(0, 100))} on envelope, expected ` +
        IN_TOTO_PAYLOAD_TYPE,
    );
  }
  const pae = dssePae(envelope.payloadType, envelope.payload);
  if (!envelope.signatures.some((sig) => verifyPayloadSignature(key, pae, sig))) {
    throw new SignatureRejected(
      "bad-signature",
      "no signature of the DSSE envelope verifies with the certificate's key",
    );
  }
}

/**
 * Checks that an in-toto statement names the image: one `subject` entry with `digest.sha256` equal to the
 * image digest's hex (cosign's `IntotoSubjectClaimVerifier`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkInTotoSubject } from "./dsse.ts";
 * const hex = "a".repeat(64);
 * const statement = { _type: "https://in-toto.io/Statement/v1", subject: [{ name: "x", digest: { sha256: hex } }] };
 * checkInTotoSubject(new TextEncoder().encode(JSON.stringify(statement)), `sha256:${hex}`);
 * assert.throws(() => checkInTotoSubject(new TextEncoder().encode(JSON.stringify(statement)), `sha256:${"b".repeat(64)}`));
 * ```
 *
 * @param statement The envelope's payload.
 * @param imageDigest `sha256:<hex>`.
 * @returns The statement's `predicateType` ("" when absent).
 * @throws SignatureRejected `wrong-image` (or `malformed` for a payload that is not a statement).
 */
export function checkInTotoSubject(statement: Uint8Array, imageDigest: string): string {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(statement));
  } catch {
    malformed("the DSSE payload is not a JSON in-toto statement");
  }
  const st = value as { subject?: unknown; predicateType?: unknown } | null;
  if (!st || typeof st !== "object" || !Array.isArray(st.subject)) {
    malformed("the in-toto statement has no subject list");
  }
  const named = st.subject.some((s: unknown) => {
    const sha = (s as { digest?: Record<string, unknown> } | null)?.digest?.sha256;
    return typeof sha === "string" && `sha256:${sha}` === imageDigest;
  });
  if (!named) {
    throw new SignatureRejected("wrong-image", `the in-toto statement's subjects do not name ${imageDigest}`);
  }
  return typeof st.predicateType === "string" ? st.predicateType : "";
}
