/**
 * Small helpers shared by the sigstore unit tests.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { Buffer } from "node:buffer";

/**
 * The DER of the first PEM block of `pem`.
 *
 * @param pem PEM text.
 * @returns The bytes.
 */
export function pemBlockDer(pem: string): Uint8Array {
  const body = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END/.exec(pem)?.[1];
  if (!body) throw new Error("no PEM block");
  return new Uint8Array(Buffer.from(body.replace(/\s+/g, ""), "base64"));
}

/** A certificate made for a test, with its WebCrypto key pair. */
export interface TestCert {
  /** The certificate. */
  readonly cert: x509.X509Certificate;
  /** Its keys. */
  readonly keys: CryptoKeyPair;
  /** The PEM text. */
  readonly pem: string;
}

/** What {@linkcode makeCert} puts into a certificate. */
export interface MakeCertOptions {
  /** Subject name. */
  readonly name: string;
  /** The issuer; self-signed when absent. */
  readonly issuer?: TestCert;
  /** Basic constraints: CA with this path length (null: no limit); absent: no extension. */
  readonly ca?: { readonly pathLength?: number };
  /** Key usage flags; absent: no extension. */
  readonly keyUsage?: number;
  /** Extended key usages; absent: no extension. */
  readonly eku?: readonly string[];
  /** More extensions. */
  readonly extensions?: readonly x509.Extension[];
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/**
 * Makes an EC P-256 certificate valid 2020–2040 (test PKI shapes the fixtures do not make).
 *
 * @param options What to put in it.
 * @returns The certificate.
 */
export async function makeCert(options: MakeCertOptions): Promise<TestCert> {
  x509.cryptoProvider.set(globalThis.crypto);
  const keys = await globalThis.crypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as CryptoKeyPair;
  const extensions: x509.Extension[] = [];
  if (options.ca) extensions.push(new x509.BasicConstraintsExtension(true, options.ca.pathLength, true));
  if (options.keyUsage !== undefined) extensions.push(new x509.KeyUsagesExtension(options.keyUsage, true));
  if (options.eku) extensions.push(new x509.ExtendedKeyUsageExtension([...options.eku]));
  extensions.push(...(options.extensions ?? []));
  const common = {
    serialNumber: Math.floor(Math.random() * 1e9).toString(16).padStart(8, "1"),
    notBefore: new Date("2020-01-01T00:00:00Z"),
    notAfter: new Date("2040-01-01T00:00:00Z"),
    signingAlgorithm: ALG,
    extensions,
  };
  const cert = options.issuer
    ? await x509.X509CertificateGenerator.create({
      ...common,
      subject: options.name,
      issuer: options.issuer.cert.subject,
      publicKey: keys.publicKey,
      signingKey: options.issuer.keys.privateKey,
    })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: options.name, keys });
  return { cert, keys, pem: cert.toString("pem") + "\n" };
}

/** Key usage flags for a CA. */
export const CA_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
/** Code signing EKU OID. */
export const CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
/** Server auth EKU OID. */
export const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

/**
 * DER TLV.
 *
 * @param tag The tag byte.
 * @param content The content.
 * @returns The encoding.
 */
export function der(tag: number, ...content: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return new Uint8Array(Buffer.concat([Buffer.from([tag, ...len]), body]));
}
