/**
 * The checks of one cosign keyless signature (SPIRE v1.9.6 era 1 with cosign v2.2 as the reference), in the
 * order they run (cheap offline checks before the network):
 *
 * 1. a certificate is present (`no-certificate`) and parses, as does the chain annotation (`malformed`);
 * 2. the leaf chains to a trusted Fulcio root through the trust's intermediates and the chain annotation's
 *    certificates, which are never anchors (`untrusted-chain`: signatures, CA flags, key usage, path length,
 *    unhandled critical extensions);
 * 3. the leaf has the CodeSigning extended key usage and no CA in the path forbids it (`no-code-signing`);
 * 4. with `enforceSct`, the leaf's embedded SCTs verify with the trusted CT log keys (`sct`);
 * 5. the signature over the payload bytes verifies with the leaf key (`bad-signature`);
 * 6. the OIDC issuer (raw value of 1.3.6.1.4.1.57264.1.1) and the first SAN in Go's order are an allowed pair
 *    (`identity`);
 * 7. the payload is a cosign simple-signing payload naming exactly the image digest (`wrong-image`; stricter
 *    than upstream, which accepts a signature copied from another image);
 * 8. the Rekor bundle verifies (`tlog`), or without a bundle an online lookup at `rekor_url` finds a valid entry
 *    (`no-bundle` / `tlog`);
 * 9. every certificate of the path is valid at the Rekor integrated time (`expired`).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createPublicKey, type KeyObject, verify as cryptoVerify } from "node:crypto";
import type { X509Certificate } from "@sigstore/core";
import { lookupRekorEntry } from "./rekor_lookup.ts";
import { decodeBase64Strict, parseCosignBundle, type VerifiedTlogEntry, verifyTlogEntry } from "./tlog.ts";
import {
  type CosignSignature,
  type SignatureCheck,
  type SignatureCheckContext,
  SignatureRejected,
  type SignatureRejection,
  type SigstoreTrust,
  type VerifiedSignature,
} from "./types.ts";
import {
  allowsCodeSigning,
  buildTrustedPath,
  certificateDer,
  fulcioIssuer,
  parsePemCertificates,
  subjectAlternativeNames,
} from "./x509.ts";
import { type CtLogKey, verifyEmbeddedScts } from "./sct.ts";

/** The `critical.type` of a cosign image signature payload. */
export const SIMPLE_SIGNING_TYPE = "cosign container image signature";

interface ParsedTrust {
  readonly roots: X509Certificate[];
  readonly intermediates: X509Certificate[];
  readonly ctLogs: CtLogKey[];
}

const parsedTrusts = new WeakMap<SigstoreTrust, ParsedTrust>();

function parsedTrust(trust: SigstoreTrust): ParsedTrust {
  let parsed = parsedTrusts.get(trust);
  if (!parsed) {
    try {
      parsed = {
        roots: trust.fulcioRoots.flatMap((pem) => parsePemCertificates(pem)),
        intermediates: trust.fulcioIntermediates.flatMap((pem) => parsePemCertificates(pem)),
        ctLogs: trust.ctLogKeys.map((k) => ({
          logId: Buffer.from(k.logId, "hex"),
          key: createPublicKey(k.publicKeyPem),
          validFrom: k.validFrom,
          validUntil: k.validUntil,
        })),
      };
    } catch (err) {
      throw new SignatureRejected("untrusted-chain", `the trust material cannot be used: ${message(err)}`);
    }
    parsedTrusts.set(trust, parsed);
  }
  return parsed;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fail(rejection: SignatureRejection, text: string): never {
  throw new SignatureRejected(rejection, text);
}

/**
 * Verifies an ECDSA (P-256 with SHA-256; P-384 and P-521 with SHA-256 as cosign or their own SHA-2), RSA
 * (PKCS#1 v1.5, SHA-256) or Ed25519 signature. The digest is always explicit for ECDSA and RSA.
 *
 * @param key The leaf's public key.
 * @param data The signed bytes.
 * @param signature The signature.
 * @returns True when it verifies.
 */
export function verifyPayloadSignature(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const digests: (string | null)[] = [];
  switch (key.asymmetricKeyType) {
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === "prime256v1" || curve === "P-256") digests.push("sha256");
      else if (curve === "secp384r1" || curve === "P-384") digests.push("sha256", "sha384");
      else if (curve === "secp521r1" || curve === "P-521") digests.push("sha256", "sha512");
      break;
    }
    case "rsa":
      digests.push("sha256");
      break;
    case "ed25519":
      digests.push(null);
      break;
    default:
      break;
  }
  return digests.some((digest) => {
    try {
      return cryptoVerify(digest, data, key, signature);
    } catch {
      return false;
    }
  });
}

function checkPayload(payload: Uint8Array, imageDigest: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    fail("wrong-image", "the payload is not simple-signing JSON");
  }
  // deno-lint-ignore no-explicit-any
  const critical = (doc as any)?.critical;
  if (!critical || typeof critical !== "object") fail("wrong-image", "the payload has no critical section");
  if (critical.type !== SIMPLE_SIGNING_TYPE) {
    fail("wrong-image", `the payload type is not "${SIMPLE_SIGNING_TYPE}"`);
  }
  const digest = critical.image?.["docker-manifest-digest"];
  if (digest !== imageDigest) {
    const named = typeof digest === "string" ? digest.slice(0, 80) : String(digest);
    fail("wrong-image", `the payload signs image ${named}, not ${imageDigest}`);
  }
}

/**
 * Checks one signature (see the module documentation).
 *
 * @example
 * ```ts ignore
 * import { verifySignature } from "./verify_signature.ts";
 * const verified = await verifySignature(signature, { trust, policy, imageDigest, rekorUrl });
 * ```
 */
export const verifySignature: SignatureCheck = async (signature, context) => {
  return await check(signature, context);
};

/** What {@linkcode checkCertificate} established about a signature's certificate. */
export interface CheckedCertificate {
  /** The leaf. */
  readonly leaf: X509Certificate;
  /** The path from the leaf (first) to a trusted root (last). */
  readonly path: readonly X509Certificate[];
  /** The leaf's public key. */
  readonly leafKey: KeyObject;
}

/**
 * Checks 1–4 of the module documentation, shared by every form and by attestations: the certificate and chain
 * annotations parse, the leaf chains to a trusted root (the chain annotation's certificates are never
 * anchors), the CodeSigning usage, and with `enforceSct` the embedded SCTs. Validity dates are not checked
 * here (see {@linkcode checkPathValidAt}).
 *
 * @param signature The certificate and chain annotations of a signature or attestation layer.
 * @param trust The trust material.
 * @param enforceSct Require valid embedded SCTs.
 * @returns The leaf, the path and the leaf key.
 * @throws SignatureRejected `no-certificate`, `malformed`, `untrusted-chain`, `no-code-signing` or `sct`.
 */
export function checkCertificate(
  signature: Pick<CosignSignature, "certificatePem" | "chainPem">,
  trust: SigstoreTrust,
  enforceSct: boolean,
): CheckedCertificate {
  if (!signature.certificatePem || signature.certificatePem.trim() === "") {
    fail("no-certificate", "no certificate found on signature");
  }
  let leaf: X509Certificate;
  let chain: X509Certificate[] = [];
  try {
    const certs = parsePemCertificates(signature.certificatePem);
    if (certs.length !== 1) throw new Error(`expected one certificate, found ${certs.length}`);
    leaf = certs[0];
  } catch (err) {
    fail("malformed", `the certificate annotation does not parse: ${message(err)}`);
  }
  if (signature.chainPem && signature.chainPem.trim() !== "") {
    try {
      chain = parsePemCertificates(signature.chainPem);
    } catch (err) {
      fail("malformed", `the chain annotation does not parse: ${message(err)}`);
    }
  }
  const parsed = parsedTrust(trust);

  let path: X509Certificate[];
  try {
    path = buildTrustedPath(leaf, {
      roots: parsed.roots,
      intermediates: [...parsed.intermediates, ...chain],
    });
  } catch (err) {
    fail("untrusted-chain", `certificate chain: ${message(err)}`);
  }

  try {
    if (!allowsCodeSigning(leaf, true)) {
      fail("no-code-signing", "the certificate lacks the CodeSigning usage");
    }
    if (!path.slice(1).every((ca) => allowsCodeSigning(ca, false))) {
      fail("no-code-signing", "an issuing certificate does not allow the CodeSigning usage");
    }
  } catch (err) {
    if (err instanceof SignatureRejected) throw err;
    fail("malformed", `extended key usage: ${message(err)}`);
  }

  if (enforceSct) {
    try {
      verifyEmbeddedScts(leaf, path[1], parsed.ctLogs);
    } catch (err) {
      fail("sct", `SCT: ${message(err)}`);
    }
  }

  let leafKey: KeyObject;
  try {
    leafKey = createPublicKey({ key: leaf.publicKey, format: "der", type: "spki" });
  } catch (err) {
    fail("malformed", `the certificate's public key cannot be used: ${message(err)}`);
  }
  return { leaf, path, leafKey };
}

/**
 * Check 9: every certificate of the path is valid at `at`.
 *
 * @param path The path, leaf first.
 * @param at The time.
 * @param when Names the time in the message (e.g. `the Rekor integrated time`).
 * @returns The index of the first certificate not valid at `at` and the message, or null when all are.
 */
export function pathInvalidAt(
  path: readonly X509Certificate[],
  at: Date,
  when: string,
): { readonly index: number; readonly message: string } | null {
  for (const [i, cert] of path.entries()) {
    if (!cert.validForDate(at)) {
      const what = i === 0 ? "the certificate" : "an issuing certificate";
      return {
        index: i,
        message:
          `${what} (valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}) was not ` +
          `valid at ${when} ${at.toISOString()}`,
      };
    }
  }
  return null;
}

/**
 * Check 7: the payload is a cosign simple-signing payload naming exactly `imageDigest`.
 *
 * @param payload The payload bytes.
 * @param imageDigest `sha256:<hex>`.
 * @throws SignatureRejected `wrong-image`.
 */
export function checkSimpleSigningPayload(payload: Uint8Array, imageDigest: string): void {
  checkPayload(payload, imageDigest);
}

async function check(
  signature: Parameters<SignatureCheck>[0],
  context: SignatureCheckContext,
): Promise<VerifiedSignature> {
  const { leaf, path, leafKey } = checkCertificate(signature, context.trust, context.policy.enforceSct);

  const sigBytes = decodeBase64Strict(signature.signatureB64);
  if (!sigBytes || sigBytes.length === 0) fail("bad-signature", "the signature annotation is not base64");
  if (!verifyPayloadSignature(leafKey, signature.payload, sigBytes)) {
    fail("bad-signature", "the signature over the payload does not verify with the certificate's key");
  }

  let issuer: string | undefined;
  let subject: string | undefined;
  try {
    issuer = fulcioIssuer(leaf);
    subject = subjectAlternativeNames(leaf)[0];
  } catch (err) {
    fail("identity", `the certificate identity cannot be read: ${message(err)}`);
  }
  if (!issuer) fail("identity", "no OIDC issuer found in certificate extensions");
  if (!subject) fail("identity", "no subject found in certificate");
  const allowed = context.policy.allowedSubjects.get(issuer);
  if (!allowed) fail("identity", `signature issuer ${JSON.stringify(issuer)} not in allow-list`);
  if (!allowed.includes(subject)) {
    fail("identity", `subject ${JSON.stringify(subject)} not allowed for issuer ${JSON.stringify(issuer)}`);
  }

  checkPayload(signature.payload, context.imageDigest);

  const tlogInput = {
    rekorKeys: context.trust.rekorKeys,
    payload: signature.payload,
    signatureB64: signature.signatureB64,
    leafDer: certificateDer(leaf),
  };
  let entry: VerifiedTlogEntry;
  if (signature.bundleJson !== null && signature.bundleJson.trim() !== "") {
    entry = verifyTlogEntry(parseCosignBundle(signature.bundleJson), tlogInput);
  } else {
    entry = await lookupRekorEntry({ ...tlogInput, rekorUrl: context.rekorUrl, signal: context.signal });
  }

  const invalid = pathInvalidAt(path, new Date(entry.integratedTime * 1000), "the Rekor integrated time");
  if (invalid) fail("expired", invalid.message);

  return {
    layerDigest: signature.layerDigest,
    subject,
    issuer,
    content: entry.content,
    logId: entry.logId,
    integratedTime: entry.integratedTime,
  };
}
