/**
 * The checks of one signature (`.sig` layer) or attestation (`.att` layer) for the current SPIRE form
 * (top-level `sigstore { … }`; SPIRE v1.15.3 with cosign v3.1.2 `verifyInternal` as the reference).
 *
 * Both run, in this order (cheap offline checks before the network):
 * 1. the certificate: present, chains to a trusted Fulcio root, CodeSigning usage, and unless `ignore_sct`
 *    a valid embedded SCT (`verify_signature.ts` `checkCertificate`; the CodeSigning usage of every CA of
 *    the path is our addition);
 * 2. the signature: over the payload bytes for a signature; for an attestation the DSSE envelope
 *    (`payloadType` `application/vnd.in-toto+json`, a signature over the PAE, `dsse.ts`);
 * 3. the identity: the raw Fulcio v1 issuer and any subject alternative name match one configured pair
 *    (`identity.ts`; cosign `CheckCertificatePolicy`);
 * 4. stricter than upstream (which sets no claim verifier): the simple-signing payload names exactly the
 *    image digest, or the in-toto statement's subject does;
 * 5. unless `ignore_tlog`: the Rekor bundle (SET and body, `tlog.ts` / `tlog_attestation.ts`); a signature
 *    without a bundle is looked up at `rekor_url` (`rekor_lookup.ts`; upstream does the same lookup and then
 *    crashes extracting the selectors); an attestation without a bundle is refused (no lookup);
 * 6. every certificate of the path is valid at the Rekor integrated time, or with `ignore_tlog` now: an
 *    expired certificate then fails with cosign's `expected a signed timestamp to verify an expired
 *    certificate` (so keyless Fulcio certificates, valid ten minutes, pass only while fresh).
 *
 * @module
 */

import { certificateDer, fulcioIssuer, subjectAlternativeNames } from "./x509.ts";
import type { IdentityMatcher } from "./identity.ts";
import { checkInTotoSubject, parseDsseEnvelope, verifyDsseEnvelope } from "./dsse.ts";
import { decodeBase64Strict, parseCosignBundle, verifyTlogEntry } from "./tlog.ts";
import { verifyAttestationTlogEntry } from "./tlog_attestation.ts";
import { lookupRekorEntry } from "./rekor_lookup.ts";
import { type CosignSignature, SignatureRejected, type SigstoreTrust } from "./types.ts";
import {
  checkCertificate,
  type CheckedCertificate,
  checkSimpleSigningPayload,
  pathInvalidAt,
  verifyPayloadSignature,
} from "./verify_signature.ts";

/** What one signature or attestation of the current form is checked against. */
export interface CurrentCheckContext {
  /** The trust material loaded at Configure. */
  readonly trust: SigstoreTrust;
  /** `allowed_identities`, compiled (`createIdentityMatcher`). */
  readonly identities: IdentityMatcher;
  /** `ignore_sct`. */
  readonly ignoreSct: boolean;
  /** `ignore_tlog`. */
  readonly ignoreTlog: boolean;
  /** The digest the image ID names (`sha256:<hex>`). */
  readonly imageDigest: string;
  /** `rekor_url`: where a signature without a bundle is looked up. */
  readonly rekorUrl: string;
  /** Aborts the Rekor lookup. */
  readonly signal?: AbortSignal;
  /** The clock for the `ignore_tlog` validity check. @default {() => new Date()} */
  readonly now?: () => Date;
  /** The `fetch` of the Rekor lookup (tests). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** The transparency-log values of a verified signature (absent with `ignore_tlog`). */
export interface CurrentTlogDetails {
  /** The Rekor log ID (lowercase hex). */
  readonly logId: string;
  /** The log index. */
  readonly logIndex: number;
  /** The integrated time, Unix seconds. */
  readonly integratedTime: number;
  /** The SET, standard base64. */
  readonly signedEntryTimestamp: string;
}

/** What the checks of one signature or attestation established. */
export interface CurrentVerified {
  /** The layer digest. */
  readonly layerDigest: string;
  /** The first non-empty subject alternative name (Go order), or "" when there is none. */
  readonly subject: string;
  /** The raw Fulcio v1 issuer extension, or null when the certificate has none. */
  readonly issuer: string | null;
  /** The transparency-log values, or null with `ignore_tlog`. */
  readonly tlog: CurrentTlogDetails | null;
}

/** A verified signature: also its signature annotation (`image-signature-value`). */
export interface CurrentVerifiedSignature extends CurrentVerified {
  /** The `dev.cosignproject.cosign/signature` annotation, as given. */
  readonly value: string;
}

/** A verified attestation: also its in-toto predicate type. */
export interface CurrentVerifiedAttestation extends CurrentVerified {
  /** The statement's `predicateType` ("" when absent). */
  readonly predicateType: string;
}

function fail(rejection: ConstructorParameters<typeof SignatureRejected>[0], text: string): never {
  throw new SignatureRejected(rejection, text);
}

/** Step 3: the identity, and the selector values of the certificate. */
function checkIdentity(
  cert: CheckedCertificate,
  identities: IdentityMatcher,
): { subject: string; issuer: string | null } {
  let issuer: string | undefined;
  let sans: string[];
  try {
    issuer = fulcioIssuer(cert.leaf);
    sans = subjectAlternativeNames(cert.leaf);
  } catch (err) {
    fail(
      "identity",
      `the certificate identity cannot be read: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!identities(issuer ?? "", sans)) {
    const shown = sans.slice(0, 8).map((s) => JSON.stringify(s.slice(0, 200))).join(", ");
    fail(
      "identity",
      `none of the expected identities matched what was in the certificate, got subjects [${shown}] with issuer ` +
        (issuer === undefined ? "(none)" : JSON.stringify(issuer.slice(0, 200))),
    );
  }
  return { subject: sans.find((s) => s !== "") ?? "", issuer: issuer ?? null };
}

/** Step 6. */
function checkValidity(
  cert: CheckedCertificate,
  context: CurrentCheckContext,
  tlog: CurrentTlogDetails | null,
) {
  if (tlog) {
    const invalid = pathInvalidAt(
      cert.path,
      new Date(tlog.integratedTime * 1000),
      "the Rekor integrated time",
    );
    if (invalid) fail("expired", invalid.message);
    return;
  }
  const now = (context.now ?? (() => new Date()))();
  const invalid = pathInvalidAt(cert.path, now, "the current time");
  if (invalid) {
    fail("expired", `expected a signed timestamp to verify an expired certificate: ${invalid.message}`);
  }
}

/**
 * Checks one `.sig` layer for the current form (see the module documentation).
 *
 * @param signature The signature.
 * @param context Trust, identities, options and the image digest.
 * @returns The selector values.
 * @throws SignatureRejected naming the failed check (an `AttestorError` for an aborted Rekor lookup).
 */
export async function verifyCurrentSignature(
  signature: CosignSignature,
  context: CurrentCheckContext,
): Promise<CurrentVerifiedSignature> {
  const cert = checkCertificate(signature, context.trust, !context.ignoreSct);
  const sigBytes = decodeBase64Strict(signature.signatureB64);
  if (!sigBytes || sigBytes.length === 0) fail("bad-signature", "the signature annotation is not base64");
  if (!verifyPayloadSignature(cert.leafKey, signature.payload, sigBytes)) {
    fail("bad-signature", "the signature over the payload does not verify with the certificate's key");
  }
  const identity = checkIdentity(cert, context.identities);
  checkSimpleSigningPayload(signature.payload, context.imageDigest);

  let tlog: CurrentTlogDetails | null = null;
  if (!context.ignoreTlog) {
    const input = {
      rekorKeys: context.trust.rekorKeys,
      payload: signature.payload,
      signatureB64: signature.signatureB64,
      leafDer: certificateDer(cert.leaf),
    };
    const entry = signature.bundleJson !== null && signature.bundleJson.trim() !== ""
      ? verifyTlogEntry(parseCosignBundle(signature.bundleJson), input)
      : await lookupRekorEntry({
        ...input,
        rekorUrl: context.rekorUrl,
        signal: context.signal,
        fetch: context.fetch,
      });
    tlog = {
      logId: entry.logId,
      logIndex: entry.logIndex,
      integratedTime: entry.integratedTime,
      signedEntryTimestamp: entry.signedEntryTimestamp,
    };
  }
  checkValidity(cert, context, tlog);
  return { layerDigest: signature.layerDigest, ...identity, value: signature.signatureB64, tlog };
}

/**
 * Checks one `.att` layer (a DSSE envelope; its signature annotation is ignored, cosign leaves it empty) for
 * the current form (see the module documentation).
 *
 * @param attestation The attestation: `payload` is the envelope bytes.
 * @param context Trust, identities, options and the image digest.
 * @returns The values established (attestations give no selector of their own besides
 *   `image-attestations:verified`).
 * @throws SignatureRejected naming the failed check.
 */
export function verifyCurrentAttestation(
  attestation: CosignSignature,
  context: CurrentCheckContext,
): Promise<CurrentVerifiedAttestation> {
  return Promise.resolve().then(() => checkAttestation(attestation, context));
}

function checkAttestation(
  attestation: CosignSignature,
  context: CurrentCheckContext,
): CurrentVerifiedAttestation {
  const cert = checkCertificate(attestation, context.trust, !context.ignoreSct);
  const envelope = parseDsseEnvelope(attestation.payload);
  verifyDsseEnvelope(envelope, cert.leafKey);
  const identity = checkIdentity(cert, context.identities);
  const predicateType = checkInTotoSubject(envelope.payload, context.imageDigest);

  let tlog: CurrentTlogDetails | null = null;
  if (!context.ignoreTlog) {
    if (attestation.bundleJson === null || attestation.bundleJson.trim() === "") {
      fail("no-bundle", "the attestation carries no Rekor bundle (attestations are not looked up online)");
    }
    const entry = verifyAttestationTlogEntry(parseCosignBundle(attestation.bundleJson), {
      rekorKeys: context.trust.rekorKeys,
      envelope: attestation.payload,
      leafDer: certificateDer(cert.leaf),
    });
    tlog = {
      logId: entry.logId,
      logIndex: entry.logIndex,
      integratedTime: entry.integratedTime,
      signedEntryTimestamp: entry.signedEntryTimestamp,
    };
  }
  checkValidity(cert, context, tlog);
  return { layerDigest: attestation.layerDigest, ...identity, predicateType, tlog };
}
