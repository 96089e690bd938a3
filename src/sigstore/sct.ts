/**
 * Embedded SCTs (RFC 6962 precertificate entries) of a signing certificate, verified against trusted CT log
 * keys. Every signature check passes an explicit hash algorithm.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, type KeyObject } from "node:crypto";
import { ByteStream, EXTENSION_OID_SCT, X509Certificate, X509SCTExtension } from "@sigstore/core";
import { certificateDer, encodeDer } from "./x509.ts";

/** A CT log key for SCT checks. */
export interface CtLogKey {
  /** The log ID: sha256 of the key's SPKI DER. */
  readonly logId: Buffer;
  /** The key. */
  readonly key: KeyObject;
  /** Start of validity, if any. */
  readonly validFrom?: Date;
  /** End of validity, if any. */
  readonly validUntil?: Date;
}

/**
 * Verifies the leaf's embedded SCTs (RFC 6962 precertificate entries): the leaf must carry at least one SCT,
 * and every SCT must be signed by a known CT log key valid at the SCT's time, over the leaf's TBS without the
 * SCT extension and the issuer key hash.
 *
 * @param leaf The signing certificate.
 * @param issuer Its issuer (the next certificate of the path).
 * @param logs The trusted CT log keys.
 * @returns The number of verified SCTs (≥ 1).
 * @throws Error naming the problem (no SCT, unknown log, bad signature).
 */
export function verifyEmbeddedScts(
  leaf: X509Certificate,
  issuer: X509Certificate,
  logs: readonly CtLogKey[],
): number {
  // `leaf.clone()`: a fresh parse of the leaf's DER, so that removing the SCT extension leaves `leaf` intact.
  const clone = X509Certificate.parse(Buffer.from(certificateDer(leaf)));
  let ext: X509SCTExtension | undefined;
  for (let i = 0; i < clone.extensions.length; i++) {
    if (clone.extensions[i].subs[0].toOID() === EXTENSION_OID_SCT) {
      ext = new X509SCTExtension(clone.extensions[i]);
      clone.extensions.splice(i, 1);
      break;
    }
  }
  if (!ext) throw new Error("the certificate has no embedded SCT");
  let scts;
  try {
    scts = ext.signedCertificateTimestamps;
  } catch (err) {
    throw new Error(
      `the embedded SCT list does not parse: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (scts.length === 0) throw new Error("the certificate's SCT list is empty");
  const preCert = new ByteStream();
  preCert.appendView(createHash("sha256").update(issuer.publicKey).digest());
  const tbs = encodeDer(clone.tbsCertificate);
  preCert.appendUint24(tbs.length);
  preCert.appendView(tbs);
  for (const sct of scts) {
    if (sct.version !== 0) throw new Error(`SCT version ${sct.version} is not supported`);
    const logId = Buffer.from(sct.logID).toString("hex");
    const when = sct.datetime;
    const candidates = logs.filter((l) =>
      l.logId.equals(sct.logID) && (!l.validFrom || l.validFrom <= when) &&
      (!l.validUntil || when <= l.validUntil)
    );
    if (candidates.length === 0) {
      throw new Error(`SCT from CT log ${logId}, which is not trusted (at ${when.toISOString()})`);
    }
    const algorithm = sct.algorithm;
    if (algorithm !== "sha256" && algorithm !== "sha384" && algorithm !== "sha512") {
      throw new Error(`SCT hash algorithm ${algorithm} is not supported`);
    }
    if (!candidates.some((l) => sct.verify(preCert.buffer, l.key))) {
      throw new Error(`SCT signature from CT log ${logId} does not verify`);
    }
  }
  return scts.length;
}
