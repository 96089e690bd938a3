/**
 * The certificate authority side of the offline sigstore fixtures: keys, a Fulcio-like root and intermediate,
 * transparency logs (Rekor, CT) and embedded SCTs made by the RFC 6962 precertificate flow. Used by
 * `sigstore_fixtures.ts`.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { Buffer } from "node:buffer";
import { createHash, generateKeyPairSync, type KeyObject, sign as cryptoSign } from "node:crypto";

x509.cryptoProvider.set(globalThis.crypto);

/** Fulcio's v1 OIDC issuer extension (raw UTF-8 value). */
export const OID_FULCIO_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
/** The embedded SCT list extension (RFC 6962). */
export const OID_SCT_LIST = "1.3.6.1.4.1.11129.2.4.2";
/** WebCrypto parameters of a P-256 key. */
export const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
/** WebCrypto parameters of an ECDSA-SHA256 signature. */
export const SIG_ALG = { name: "ECDSA", hash: "SHA-256" } as const;

/** A key pair usable from node:crypto and WebCrypto. */
export interface FixtureKey {
  readonly privateKey: KeyObject;
  readonly spki: Buffer;
  readonly pem: string;
  readonly crypto: CryptoKeyPair;
}

/** A fresh P-256 key pair in node:crypto and WebCrypto form. */
export async function ecKey(): Promise<FixtureKey> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ format: "der", type: "spki" }) as Buffer;
  const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" }) as Buffer;
  const subtle = globalThis.crypto.subtle;
  return {
    privateKey,
    spki,
    pem: publicKey.export({ format: "pem", type: "spki" }) as string,
    crypto: {
      privateKey: await subtle.importKey("pkcs8", new Uint8Array(pkcs8), ECDSA_P256, true, ["sign"]),
      publicKey: await subtle.importKey("spki", new Uint8Array(spki), ECDSA_P256, true, ["verify"]),
    },
  };
}

/** A log ID: sha256 of the key's SubjectPublicKeyInfo DER. */
export function logIdOf(spki: Buffer): Buffer {
  return createHash("sha256").update(spki).digest();
}

/** A CA: its certificate and key. */
export interface FixtureCa {
  /** The certificate PEM. */
  readonly pem: string;
  /** The certificate. */
  readonly cert: x509.X509Certificate;
  /** Its key. */
  readonly key: FixtureKey;
}

/** A log (CT or Rekor): its key and ID. */
export interface FixtureLog {
  /** The SPKI PEM. */
  readonly pem: string;
  /** The SPKI DER. */
  readonly spki: Buffer;
  /** Hex sha256 of the SPKI DER. */
  readonly logId: string;
  /** The signing key. */
  readonly privateKey: KeyObject;
}

/** A transparency log (Rekor or CT) with a fresh key. */
export async function makeLog(): Promise<FixtureLog> {
  const key = await ecKey();
  return {
    pem: key.pem,
    spki: key.spki,
    logId: logIdOf(key.spki).toString("hex"),
    privateKey: key.privateKey,
  };
}

/** A Fulcio-like self-signed root and an intermediate under it, named after `label`. */
export async function makeCaPair(label: string): Promise<{ root: FixtureCa; intermediate: FixtureCa }> {
  const rootKey = await ecKey();
  const interKey = await ecKey();
  const notBefore = new Date("2020-01-01T00:00:00Z");
  const notAfter = new Date("2040-01-01T00:00:00Z");
  const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=sigstore,O=sigstore.${label}`,
    notBefore,
    notAfter,
    keys: rootKey.crypto,
    signingAlgorithm: SIG_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKey.crypto.publicKey),
    ],
  });
  const interCert = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: `CN=sigstore-intermediate,O=sigstore.${label}`,
    issuer: rootCert.subject,
    notBefore,
    notAfter,
    publicKey: interKey.crypto.publicKey,
    signingKey: rootKey.crypto.privateKey,
    signingAlgorithm: SIG_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
      await x509.SubjectKeyIdentifierExtension.create(interKey.crypto.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKey.crypto.publicKey),
    ],
  });
  return {
    root: { pem: rootCert.toString("pem") + "\n", cert: rootCert, key: rootKey },
    intermediate: { pem: interCert.toString("pem") + "\n", cert: interCert, key: interKey },
  };
}

/** A DER length field for `n` bytes. */
export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** `n` as 2 big-endian bytes (TLS encoding). */
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** `n` as 3 big-endian bytes (TLS encoding). */
export function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/** Makes one RFC 6962 SCT over a precertificate TBS. */
export function makeSct(log: FixtureLog, issuerSpki: Buffer, tbs: Buffer, when: Date): Buffer {
  const timestamp = Buffer.alloc(8);
  timestamp.writeBigUInt64BE(BigInt(when.getTime()));
  const signed = Buffer.concat([
    Buffer.from([0, 0]),
    timestamp,
    u16(1),
    createHash("sha256").update(issuerSpki).digest(),
    u24(tbs.length),
    tbs,
    u16(0),
  ]);
  const sig = cryptoSign("sha256", signed, log.privateKey);
  return Buffer.concat([
    Buffer.from([0]),
    Buffer.from(log.logId, "hex"),
    timestamp,
    u16(0),
    Buffer.from([4, 3]),
    u16(sig.length),
    sig,
  ]);
}
