/**
 * X.509 helpers for the cosign signature checks, on `@sigstore/core`'s certificate parser: certificates from
 * PEM or DER, a byte-identical DER encoder with per-certificate caching, the CodeSigning usage and the path
 * from a leaf to a trusted root. PEM blocks and keys are in `pem.ts`, names in `x509_names.ts` (re-exported
 * here), embedded SCTs in `sct.ts`.
 *
 * Every function throws a plain `Error` whose message names the problem; the callers turn it into their own
 * error kind (`SignatureRejected`, `AttestorError`). Every signature check passes an explicit hash algorithm
 * (Deno's `node:crypto.verify` has no default digest, see `deno-toolchain.md` §3).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createPublicKey, type KeyObject, verify as cryptoVerify } from "node:crypto";
import { type ASN1Obj, X509Certificate } from "@sigstore/core";
import { parsePemBlocks } from "./pem.ts";
import { OID_SAN } from "./x509_names.ts";

export { loadPublicKey, parsePemBlocks, type PemBlock } from "./pem.ts";
export {
  fulcioIssuer,
  OID_FULCIO_ISSUER_V1,
  OID_FULCIO_OTHERNAME,
  subjectAlternativeNames,
} from "./x509_names.ts";

/** Extended key usage: code signing. */
export const OID_EKU_CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
const OID_EKU_ANY = "2.5.29.37.0";
const OID_EKU = "2.5.29.37";
const OID_KEY_USAGE = "2.5.29.15";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_SKI = "2.5.29.14";
const OID_AKI = "2.5.29.35";
const OID_CERT_POLICIES = "2.5.29.32";

/** Critical extensions this code understands; a certificate with another critical extension is refused. */
const HANDLED_CRITICAL = new Set([
  OID_SAN,
  OID_EKU,
  OID_KEY_USAGE,
  OID_BASIC_CONSTRAINTS,
  OID_SKI,
  OID_AKI,
  OID_CERT_POLICIES,
]);

/** The largest certificate path accepted (leaf, intermediates, root). */
const MAX_PATH_LENGTH = 8;

/**
 * Parses DER as a certificate and reads every field the checks use, so a malformed certificate fails here
 * and not in the middle of a check.
 *
 * @param der The certificate DER.
 * @returns The certificate.
 */
export function parseCertificateDer(der: Uint8Array): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = X509Certificate.parse(Buffer.from(der));
    // The TBS encoding is both a parse check and what every signature check over this certificate needs.
    cached(cert).tbsValue = encodeDer(cert.tbsCertificate);
    void cert.notBefore;
    void cert.notAfter;
    void cert.subject;
    void cert.issuer;
    void cert.publicKey;
    void cert.signatureValue;
    for (const ext of cert.extensions) void ext.subs[0].toOID();
    if (cert.signatureAlgorithm === undefined) throw new Error("unsupported signature algorithm");
  } catch (err) {
    throw new Error(`not a valid X.509 certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
  return cert;
}

/**
 * Parses every certificate of a PEM bundle; any block that is not a certificate is an error.
 *
 * @param text PEM text.
 * @returns The certificates in order.
 */
export function parsePemCertificates(text: string): X509Certificate[] {
  return parsePemBlocks(text).map((block, i) => {
    if (block.label !== "CERTIFICATE") {
      throw new Error(`PEM block ${i + 1} is ${block.label}, not CERTIFICATE`);
    }
    try {
      return parseCertificateDer(block.der);
    } catch (err) {
      throw new Error(`PEM block ${i + 1}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

/**
 * Encodes an ASN.1 tree exactly as `@sigstore/core`'s `ASN1Obj.toDER()` does (tag byte, minimal length,
 * then the value, or the subs' encodings when there are subs), byte for byte, but into one buffer sized in a
 * first pass instead of a growing stream per node (`toDER` costs 0.5–1 ms for a certificate).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Buffer } from "node:buffer";
 * import { ASN1Obj } from "@sigstore/core";
 * import { encodeDer } from "./x509.ts";
 * const obj = ASN1Obj.parseBuffer(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]));
 * assert.deepEqual(encodeDer(obj), obj.toDER());
 * ```
 *
 * @param obj A parsed ASN.1 object.
 * @returns Its DER encoding (a new buffer).
 */
export function encodeDer(obj: ASN1Obj): Buffer {
  const sizes = new Map<ASN1Obj, number>();
  const contentSize = (o: ASN1Obj): number => {
    let n = 0;
    if (o.subs.length > 0) {
      for (const sub of o.subs) n += totalSize(sub);
    } else {
      n = o.value.length;
    }
    sizes.set(o, n);
    return n;
  };
  const totalSize = (o: ASN1Obj): number => {
    const n = contentSize(o);
    return 1 + lengthSize(n) + n;
  };
  const out = Buffer.alloc(totalSize(obj));
  let pos = 0;
  const write = (o: ASN1Obj): void => {
    const n = sizes.get(o)!;
    out[pos++] = o.tag.toDER();
    if (n < 128) {
      out[pos++] = n;
    } else {
      const bytes = lengthSize(n) - 1;
      out[pos++] = 0x80 | bytes;
      for (let i = bytes - 1; i >= 0; i--) out[pos++] = Math.floor(n / 2 ** (8 * i)) % 256;
    }
    if (o.subs.length > 0) {
      for (const sub of o.subs) write(sub);
    } else {
      out.set(o.value, pos);
      pos += n;
    }
  };
  write(obj);
  return out;
}

/** Bytes of a DER length field for a content of `n` bytes. */
function lengthSize(n: number): number {
  if (n < 128) return 1;
  let bytes = 0;
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes++;
  return 1 + bytes;
}

/**
 * The DER of a certificate (for comparisons: equal DER is the same certificate).
 *
 * @param cert A certificate.
 * @returns Its DER bytes.
 */
export function certificateDer(cert: X509Certificate): Buffer {
  return Buffer.from(cached(cert).der);
}

/**
 * What `@sigstore/core` recomputes on every access (it re-encodes the ASN.1 tree each time: 0.5–1 ms for the
 * whole certificate), kept per certificate object. Every value is computed lazily, byte for byte what the
 * uncached calls gave (`encodeDer` is `toDER` in one pass). Sound because no code here mutates a parsed
 * certificate (the SCT check edits a fresh parse of the leaf's DER, a new object that is never cached).
 */
interface CertCache {
  derValue?: Buffer;
  derHex?: string;
  tbsValue?: Buffer;
  keyValue?: KeyObject | null;
  /** `signedBy(this, issuer)` results, by issuer object. */
  readonly signedBy: WeakMap<X509Certificate, boolean>;
  readonly der: Buffer;
  readonly derKey: string;
  readonly tbs: Buffer;
  /** The SPKI as a key object, or null when the SPKI does not load. */
  readonly key: KeyObject | null;
}

const certCaches = new WeakMap<X509Certificate, CertCache>();

function cached(cert: X509Certificate): CertCache {
  let entry = certCaches.get(cert);
  if (!entry) {
    entry = {
      signedBy: new WeakMap(),
      get der() {
        return this.derValue ??= encodeDer(cert.root);
      },
      get derKey() {
        return this.derHex ??= this.der.toString("hex");
      },
      get tbs() {
        return this.tbsValue ??= encodeDer(cert.tbsCertificate);
      },
      get key() {
        if (this.keyValue === undefined) {
          try {
            this.keyValue = createPublicKey({ key: cert.publicKey, format: "der", type: "spki" });
          } catch {
            this.keyValue = null;
          }
        }
        return this.keyValue;
      },
    };
    certCaches.set(cert, entry);
  }
  return entry;
}

/** Whether two certificates have equal DER (`X509Certificate.equals`, on the cached DER). */
function sameCertificate(a: X509Certificate, b: X509Certificate): boolean {
  return a === b || cached(a).derKey === cached(b).derKey;
}

/**
 * The PEM text of a certificate.
 *
 * @param cert A certificate.
 * @returns `-----BEGIN CERTIFICATE-----…`.
 */
export function certificatePem(cert: X509Certificate): string {
  const b64 = certificateDer(cert).toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

/**
 * Whether a certificate is self-signed: subject equals issuer and its own key verifies its signature.
 *
 * @param cert A certificate.
 * @returns True for a self-signed certificate.
 */
export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.subject.equals(cert.issuer) && signedBy(cert, cert);
}

/**
 * Whether `issuer`'s key verifies `cert`'s signature (explicit digest from the signature algorithm).
 *
 * @param cert The signed certificate.
 * @param issuer The candidate issuer.
 * @returns True when the signature verifies.
 */
export function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  const memo = cached(cert).signedBy;
  let result = memo.get(issuer);
  if (result === undefined) {
    result = verifySignedBy(cert, issuer);
    memo.set(issuer, result);
  }
  return result;
}

function verifySignedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  const algorithm = cert.signatureAlgorithm;
  if (!algorithm) return false;
  try {
    const key = cached(issuer).key;
    if (!key) return false;
    return cryptoVerify(algorithm, cached(cert).tbs, key, cert.signatureValue);
  } catch {
    return false;
  }
}

/**
 * The extended key usages of a certificate.
 *
 * @param cert A certificate.
 * @returns The usage OIDs, or undefined when the certificate has no EKU extension.
 */
export function extendedKeyUsages(cert: X509Certificate): string[] | undefined {
  const ext = cert.extension(OID_EKU);
  if (!ext) return undefined;
  const seq = ext.valueObj.subs[0];
  if (!seq) throw new Error("malformed extended key usage extension");
  return seq.subs.map((s) => s.toOID());
}

/**
 * Whether a certificate allows code signing: the leaf must list it; a CA either has no EKU extension, lists
 * code signing or `anyExtendedKeyUsage` (Go's nested EKU rule).
 *
 * @param cert A certificate.
 * @param isLeaf Whether it is the signing certificate.
 * @returns True when code signing is allowed.
 */
export function allowsCodeSigning(cert: X509Certificate, isLeaf: boolean): boolean {
  const usages = extendedKeyUsages(cert);
  if (usages === undefined) return !isLeaf;
  return usages.includes(OID_EKU_CODE_SIGNING) || (!isLeaf && usages.includes(OID_EKU_ANY));
}

/** The certificates a chain may be built from. */
export interface ChainInputs {
  /** Trusted self-signed roots: the only anchors. */
  readonly roots: readonly X509Certificate[];
  /** Candidate intermediates (from the trust and from the signature's chain annotation): never anchors. */
  readonly intermediates: readonly X509Certificate[];
}

/**
 * Builds the shortest path from `leaf` to a trusted root, through the candidate intermediates. Each link is
 * checked: issuer name equals the subject above, the signature verifies with the key above, every
 * certificate above the leaf is a CA (basic constraints `cA`, `keyCertSign` when key usage is present),
 * path-length constraints hold, and no certificate has a critical extension this code does not handle. A
 * path must end at a certificate whose DER equals a trusted root; the leaf itself is never an anchor.
 *
 * @param leaf The signing certificate.
 * @param inputs Roots and candidate intermediates.
 * @returns The path, leaf first, root last.
 * @throws Error naming why no path was found.
 */
export function buildTrustedPath(leaf: X509Certificate, inputs: ChainInputs): X509Certificate[] {
  const rootDers = new Set(inputs.roots.map((r) => cached(r).derKey));
  const isRoot = (c: X509Certificate) => rootDers.has(cached(c).derKey);
  const candidates = dedupe([...inputs.roots, ...inputs.intermediates]);
  checkCriticalExtensions(leaf, "the certificate");
  let best: X509Certificate[] | undefined;
  let lastProblem = "no issuer among the trusted roots and intermediates";
  const walk = (path: X509Certificate[]) => {
    if (best && path.length >= best.length) return;
    const top = path[path.length - 1];
    if (path.length > 1 && isRoot(top)) {
      best = path;
      return;
    }
    if (path.length >= MAX_PATH_LENGTH) return;
    for (const issuer of candidates) {
      if (path.some((c) => sameCertificate(c, issuer))) continue;
      if (!top.issuer.equals(issuer.subject)) continue;
      const problem = linkProblem(top, issuer, path.length);
      if (problem) {
        lastProblem = problem;
        continue;
      }
      walk([...path, issuer]);
    }
  };
  walk([leaf]);
  if (!best) throw new Error(`no certificate path to a trusted root: ${lastProblem}`);
  return best;
}

function linkProblem(cert: X509Certificate, issuer: X509Certificate, depth: number): string | undefined {
  if (!signedBy(cert, issuer)) return "a signature in the chain does not verify";
  const bc = issuer.extBasicConstraints;
  if (!bc?.isCA) return "an issuing certificate is not a CA";
  if (issuer.extKeyUsage && !issuer.extKeyUsage.keyCertSign) {
    return "an issuing certificate lacks the keyCertSign usage";
  }
  // depth = number of certificates below the issuer; intermediates below it = depth - 1.
  const pathLen = bc.pathLenConstraint;
  if (pathLen !== undefined && pathLen < BigInt(depth - 1)) return "a path length constraint is exceeded";
  try {
    checkCriticalExtensions(issuer, "an issuing certificate");
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return undefined;
}

function checkCriticalExtensions(cert: X509Certificate, what: string): void {
  for (const ext of cert.extensions) {
    const critical = ext.subs.length === 3 && ext.subs[1].toBoolean();
    const oid = ext.subs[0].toOID();
    if (critical && !HANDLED_CRITICAL.has(oid)) {
      throw new Error(`${what} has an unhandled critical extension ${oid}`);
    }
  }
}

function dedupe(certs: readonly X509Certificate[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  for (const c of certs) {
    const key = cached(c).derKey;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}
