/**
 * Offline sigstore fixtures for tests: a Fulcio-like root and intermediate CA, a CT log issuing embedded SCTs
 * (RFC 6962 precertificate flow), a Rekor log signing SETs over `hashedrekord` (or `rekord`) bodies, signer
 * certificates with an email or URI SAN and the Fulcio issuer extension, and {@linkcode SigstoreFixture.signImage},
 * which gives a {@linkcode CosignSignature} plus the exact OCI layer descriptor cosign would push. Knobs make
 * every negative case (wrong identity, tampered payload, other digest, expired certificate, no SCT, unknown or
 * wrong Rekor key, untrusted CA, no CodeSigning usage, no bundle). Also the trust files for the `SIGSTORE_*`
 * variables, a `trusted_root.json`, a local TUF repository and a fake Rekor API.
 *
 * Times are fixed (see {@linkcode FIXTURE_CLOCK}); keys are random per fixture.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { Buffer } from "node:buffer";
import { createHash, generateKeyPairSync, type KeyObject, sign as cryptoSign } from "node:crypto";
import { json, X509Certificate as CoreCertificate } from "@sigstore/core";
import type { CosignSignature, LogKey, SigstoreTrust } from "../sigstore/types.ts";

x509.cryptoProvider.set(globalThis.crypto);

/** The fixed "now" of the fixtures: leaf certificates start here (2026-01-01T00:00:00Z). */
export const FIXTURE_CLOCK = new Date("2026-01-01T00:00:00Z");
/** The default Rekor integrated time: one minute after {@linkcode FIXTURE_CLOCK}. */
export const FIXTURE_INTEGRATED_TIME = FIXTURE_CLOCK.getTime() / 1000 + 60;
/** The OIDC issuer used by default. */
export const FIXTURE_ISSUER = "https://issuer.example";
/** The subject used by default (an email SAN). */
export const FIXTURE_SUBJECT = "signer@example.com";
/** The media type of a cosign simple-signing layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** Annotation keys of a cosign signature layer. */
export const ANNOTATIONS = {
  signature: "dev.cosignproject.cosign/signature",
  certificate: "dev.sigstore.cosign/certificate",
  chain: "dev.sigstore.cosign/chain",
  bundle: "dev.sigstore.cosign/bundle",
} as const;

const OID_FULCIO_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
const OID_SCT_LIST = "1.3.6.1.4.1.11129.2.4.2";
const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIG_ALG = { name: "ECDSA", hash: "SHA-256" } as const;

/** A key pair usable from node:crypto and WebCrypto. */
interface FixtureKey {
  readonly privateKey: KeyObject;
  readonly spki: Buffer;
  readonly pem: string;
  readonly crypto: CryptoKeyPair;
}

async function ecKey(): Promise<FixtureKey> {
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

function logIdOf(spki: Buffer): Buffer {
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

async function makeLog(): Promise<FixtureLog> {
  const key = await ecKey();
  return {
    pem: key.pem,
    spki: key.spki,
    logId: logIdOf(key.spki).toString("hex"),
    privateKey: key.privateKey,
  };
}

async function makeCaPair(label: string): Promise<{ root: FixtureCa; intermediate: FixtureCa }> {
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

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/** Makes one RFC 6962 SCT over a precertificate TBS. */
function makeSct(log: FixtureLog, issuerSpki: Buffer, tbs: Buffer, when: Date): Buffer {
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

/** Which signer key type a leaf gets. */
export type SignerKeyType = "ecdsa-p256" | "ecdsa-p384" | "rsa";

/** The knobs of {@linkcode SigstoreFixture.signImage}; defaults give a signature that passes every check. */
export interface SignImageOptions {
  /** The image digest the payload names (`sha256:<hex>`). */
  readonly digest: string;
  /** The docker reference in the payload. @default "registry.example/app" */
  readonly reference?: string;
  /** The identity. @default FIXTURE_ISSUER / FIXTURE_SUBJECT as an email SAN */
  readonly identity?: {
    readonly issuer?: string | null;
    readonly subject: string;
    readonly san?: "email" | "uri";
  };
  /** Sign a payload naming this digest instead (a signature copied from another image). */
  readonly payloadDigest?: string;
  /** Change the payload after signing and logging (the layer carries the changed bytes). */
  readonly tamperPayload?: boolean;
  /** Leaf validity. @default FIXTURE_CLOCK … +10 minutes */
  readonly leafValidity?: { readonly notBefore: Date; readonly notAfter: Date };
  /** Rekor integrated time, Unix seconds. @default FIXTURE_INTEGRATED_TIME */
  readonly integratedTime?: number;
  /** Embedded SCT: from the trusted CT log, none, or from an unknown CT log. @default "valid" */
  readonly sct?: "valid" | "none" | "unknown-log";
  /** Rekor SET: by the trusted key, an unknown key (its own log ID), or another key claiming the trusted log ID. */
  readonly rekorKey?: "trusted" | "unknown" | "wrong";
  /** Issue the leaf from the trusted CA or from a rogue CA with the same names. @default "trusted" */
  readonly ca?: "trusted" | "rogue";
  /** Give the leaf the CodeSigning usage. @default true */
  readonly codeSigning?: boolean;
  /** Attach the Rekor bundle annotation. @default true */
  readonly bundle?: boolean;
  /** The Rekor entry kind. @default "hashedrekord" */
  readonly kind?: "hashedrekord" | "rekord";
  /** The chain annotation: intermediate + root (default), none, or given PEM text. */
  readonly chain?: "default" | "none" | string;
  /** The signer key type. @default "ecdsa-p256" */
  readonly signerKey?: SignerKeyType;
  /** The payload's `critical.type`. @default "cosign container image signature" */
  readonly payloadType?: string;
}

/** A Rekor entry as the Rekor API returns it (`GET /api/v1/log/entries/<uuid>`). */
export interface FixtureRekorEntry {
  /** The entry UUID (tree ID + leaf hash). */
  readonly uuid: string;
  /** The entry. */
  readonly entry: {
    readonly body: string;
    readonly integratedTime: number;
    readonly logID: string;
    readonly logIndex: number;
    readonly verification: { readonly signedEntryTimestamp: string };
  };
}

/** The OCI layer descriptor cosign pushes for one signature. */
export interface CosignLayerDescriptor {
  /** {@linkcode SIMPLE_SIGNING_MEDIA_TYPE}. */
  readonly mediaType: string;
  /** `sha256:<hex>` of the payload. */
  readonly digest: string;
  /** Payload size in bytes. */
  readonly size: number;
  /** The cosign annotations. */
  readonly annotations: Record<string, string>;
}

/** What {@linkcode SigstoreFixture.signImage} gives. */
export interface SignedImage {
  /** The signature as `cosign_layers.ts` would give it. */
  readonly signature: CosignSignature;
  /** The layer descriptor (push the payload as the blob). */
  readonly layer: CosignLayerDescriptor;
  /** The payload (the blob). */
  readonly payload: Uint8Array;
  /** The Rekor entry (for a fake Rekor lookup). */
  readonly rekorEntry: FixtureRekorEntry;
  /** The leaf certificate PEM. */
  readonly leafPem: string;
  /** Logs the same entry body again (another log index) at `integratedTime`, signed by the trusted Rekor key. */
  relog(integratedTime: number): FixtureRekorEntry;
}

/** The media type of a cosign attestation layer. */
export const DSSE_ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
/** The DSSE payload type of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** The Rekor entry kinds cosign has written for attestations. */
export type AttestationEntryKind = "intoto-0.0.1" | "intoto-0.0.2" | "dsse-0.0.1";

/**
 * The knobs of {@linkcode SigstoreFixture.attestImage}; defaults give an attestation that passes every check.
 * The certificate knobs are those of {@linkcode SignImageOptions}.
 */
export interface AttestImageOptions extends
  Pick<
    SignImageOptions,
    | "digest"
    | "identity"
    | "leafValidity"
    | "integratedTime"
    | "sct"
    | "rekorKey"
    | "ca"
    | "codeSigning"
    | "bundle"
    | "chain"
    | "signerKey"
  > {
  /** The statement's subject digest instead of `digest` (an attestation of another image). */
  readonly subjectDigest?: string;
  /** The Rekor entry kind. @default "intoto-0.0.1" */
  readonly kind?: AttestationEntryKind | "hashedrekord";
  /** The envelope's `payloadType` (signed as given). @default IN_TOTO_PAYLOAD_TYPE */
  readonly payloadType?: string;
  /** The statement's `predicateType`. @default "https://slsa.dev/provenance/v1" */
  readonly predicateType?: string;
  /** Change the statement after signing and logging (the layer carries the changed envelope). */
  readonly tamperStatement?: boolean;
  /** Sign the envelope with a key other than the certificate's. */
  readonly foreignSigner?: boolean;
  /** The Rekor body: the envelope's hash (default), another hash, or another certificate. */
  readonly body?: "default" | "other-hash" | "other-certificate";
  /** The envelope's base64 alphabet. @default "standard" */
  readonly base64?: "standard" | "url";
}

/** What {@linkcode SigstoreFixture.attestImage} gives. */
export interface AttestedImage {
  /** The attestation as the `.att` fetcher gives it (`payload`: the envelope bytes; `signatureB64`: ""). */
  readonly attestation: CosignSignature;
  /** The layer descriptor cosign pushes (media type {@linkcode DSSE_ENVELOPE_MEDIA_TYPE}). */
  readonly layer: CosignLayerDescriptor;
  /** The envelope (the blob). */
  readonly envelope: Uint8Array;
  /** The statement inside the envelope. */
  readonly statement: Uint8Array;
  /** The leaf certificate PEM. */
  readonly leafPem: string;
  /** The Rekor entry. */
  readonly rekorEntry: FixtureRekorEntry;
}

/** The trust files for the `SIGSTORE_*` variables. */
export interface TrustFiles {
  /** The directory holding them. */
  readonly dir: string;
  /** `SIGSTORE_ROOT_FILE`, `SIGSTORE_REKOR_PUBLIC_KEY`, `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE` → paths. */
  readonly env: Record<string, string>;
}

/** A complete offline sigstore. */
export interface SigstoreFixture {
  /** The trusted Fulcio root and intermediate. */
  readonly root: FixtureCa;
  /** The trusted intermediate. */
  readonly intermediate: FixtureCa;
  /** A rogue root and intermediate with the same names (not trusted). */
  readonly rogueRoot: FixtureCa;
  /** The rogue intermediate. */
  readonly rogueIntermediate: FixtureCa;
  /** The trusted CT log. */
  readonly ctLog: FixtureLog;
  /** The trusted Rekor log. */
  readonly rekor: FixtureLog;
  /** An untrusted log key (unknown CT log / unknown or wrong Rekor key). */
  readonly otherLog: FixtureLog;
  /** The trust (roots only; intermediates come from the chain annotation). */
  readonly trust: SigstoreTrust;
  /** Signs an image (see {@linkcode SignImageOptions}). */
  signImage(options: SignImageOptions): Promise<SignedImage>;
  /** Attests an image as `cosign attest` does (see {@linkcode AttestImageOptions}). */
  attestImage(options: AttestImageOptions): Promise<AttestedImage>;
  /** Writes the `SIGSTORE_*` trust files (root + intermediate PEM, Rekor PEM, CT log PEM or DER). */
  writeTrustFiles(dir: string, options?: { ctLogDer?: boolean }): Promise<TrustFiles>;
  /** A `trusted_root.json` document for these keys (for a TUF repository). */
  trustedRootJson(): string;
}

function logKey(log: FixtureLog): LogKey {
  return { logId: log.logId, publicKeyPem: log.pem };
}

/**
 * Creates the fixture CAs and logs.
 *
 * @example
 * ```ts ignore
 * import { createSigstoreFixture } from "./sigstore_fixtures.ts";
 * const fx = await createSigstoreFixture();
 * const { signature, layer } = await fx.signImage({ digest: "sha256:" + "a".repeat(64) });
 * ```
 *
 * @returns The fixture.
 */
export async function createSigstoreFixture(): Promise<SigstoreFixture> {
  const { root, intermediate } = await makeCaPair("test");
  const rogue = await makeCaPair("test");
  const ctLog = await makeLog();
  const rekor = await makeLog();
  const otherLog = await makeLog();
  let logIndex = 1000;
  const trust: SigstoreTrust = {
    fulcioRoots: [root.pem],
    fulcioIntermediates: [],
    rekorKeys: [logKey(rekor)],
    ctLogKeys: [logKey(ctLog)],
    source: "sigstore fixture",
  };

  async function issueLeaf(options: SignImageOptions, signerSpki: Buffer): Promise<string> {
    const ca = options.ca === "rogue" ? rogue.intermediate : intermediate;
    const identity = options.identity ?? { subject: FIXTURE_SUBJECT };
    const validity = options.leafValidity ??
      { notBefore: FIXTURE_CLOCK, notAfter: new Date(FIXTURE_CLOCK.getTime() + 10 * 60_000) };
    const extensions: x509.Extension[] = [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        options.codeSigning === false ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.codeSigning,
      ]),
      new x509.SubjectAlternativeNameExtension(
        [{ type: identity.san === "uri" ? "url" : "email", value: identity.subject }],
        true,
      ),
      await x509.AuthorityKeyIdentifierExtension.create(ca.key.crypto.publicKey),
    ];
    const issuer = identity.issuer === undefined ? FIXTURE_ISSUER : identity.issuer;
    if (issuer !== null) {
      extensions.push(new x509.Extension(OID_FULCIO_ISSUER_V1, false, Buffer.from(issuer, "utf8")));
    }
    const params = {
      serialNumber: createHash("sha256").update(signerSpki).digest("hex").slice(0, 16).replace(
        /^[89a-f]/,
        "1",
      ),
      subject: "",
      issuer: ca.cert.subject,
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
      publicKey: new Uint8Array(signerSpki),
      signingKey: ca.key.crypto.privateKey,
      signingAlgorithm: SIG_ALG,
      extensions,
    };
    if ((options.sct ?? "valid") !== "none") {
      const pre = await x509.X509CertificateGenerator.create(params);
      const tbs = CoreCertificate.parse(Buffer.from(pre.rawData)).tbsCertificate.toDER();
      const log = options.sct === "unknown-log" ? otherLog : ctLog;
      const sct = makeSct(log, ca.key.spki, tbs, validity.notBefore);
      const list = Buffer.concat([u16(sct.length + 2), u16(sct.length), sct]);
      const octet = Buffer.concat([Buffer.from([0x04]), derLength(list.length), list]);
      extensions.push(new x509.Extension(OID_SCT_LIST, false, octet));
    }
    const cert = await x509.X509CertificateGenerator.create(params);
    return cert.toString("pem") + "\n";
  }

  async function signImage(options: SignImageOptions): Promise<SignedImage> {
    const keyType = options.signerKey ?? "ecdsa-p256";
    const pair = keyType === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: keyType === "ecdsa-p384" ? "P-384" : "P-256" });
    const signerSpki = pair.publicKey.export({ format: "der", type: "spki" }) as Buffer;
    const leafPem = await issueLeaf(options, signerSpki);

    const signedDigest = options.payloadDigest ?? options.digest;
    const signedPayload = Buffer.from(JSON.stringify({
      critical: {
        identity: { "docker-reference": options.reference ?? "registry.example/app" },
        image: { "docker-manifest-digest": signedDigest },
        type: options.payloadType ?? "cosign container image signature",
      },
      optional: null,
    }));
    const signatureB64 = cryptoSign("sha256", signedPayload, pair.privateKey).toString("base64");

    const kind = options.kind ?? "hashedrekord";
    const payloadHash = createHash("sha256").update(signedPayload).digest("hex");
    const certB64 = Buffer.from(leafPem).toString("base64");
    const body = kind === "hashedrekord"
      ? {
        apiVersion: "0.0.1",
        kind,
        spec: {
          data: { hash: { algorithm: "sha256", value: payloadHash } },
          signature: { content: signatureB64, publicKey: { content: certB64 } },
        },
      }
      : {
        apiVersion: "0.0.1",
        kind,
        spec: {
          data: { hash: { algorithm: "sha256", value: payloadHash } },
          signature: { content: signatureB64, format: "x509", publicKey: { content: certB64 } },
        },
      };
    const bodyB64 = Buffer.from(JSON.stringify(body)).toString("base64");
    const integratedTime = options.integratedTime ?? FIXTURE_INTEGRATED_TIME;
    const rekorKey = options.rekorKey ?? "trusted";
    const logID = rekorKey === "unknown" ? otherLog.logId : rekor.logId;
    const signer = rekorKey === "trusted" ? rekor.privateKey : otherLog.privateKey;
    const index = logIndex++;
    const setFor = (time: number, at: number, key: KeyObject) =>
      cryptoSign(
        "sha256",
        Buffer.from(json.canonicalize({ body: bodyB64, integratedTime: time, logID, logIndex: at })),
        key,
      ).toString("base64");
    const set = setFor(integratedTime, index, signer);
    const leafHash = createHash("sha256").update(Buffer.from([0])).update(Buffer.from(bodyB64, "base64"))
      .digest("hex");

    const payload = options.tamperPayload
      ? Buffer.from(signedPayload.toString().replace('"optional":null', '"optional":{"tampered":true}'))
      : signedPayload;
    const chainPem = options.chain === undefined || options.chain === "default"
      ? (options.ca === "rogue" ? rogue.intermediate.pem + rogue.root.pem : intermediate.pem + root.pem)
      : options.chain === "none"
      ? null
      : options.chain;
    const bundleJson = options.bundle === false ? null : JSON.stringify({
      SignedEntryTimestamp: set,
      Payload: { body: bodyB64, integratedTime, logIndex: index, logID },
    });
    const digest = `sha256:${createHash("sha256").update(payload).digest("hex")}`;
    const annotations: Record<string, string> = {
      [ANNOTATIONS.signature]: signatureB64,
      [ANNOTATIONS.certificate]: leafPem,
    };
    if (chainPem !== null) annotations[ANNOTATIONS.chain] = chainPem;
    if (bundleJson !== null) annotations[ANNOTATIONS.bundle] = bundleJson;
    return {
      signature: {
        layerDigest: digest,
        payload,
        signatureB64,
        certificatePem: leafPem,
        chainPem,
        bundleJson,
      },
      layer: { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest, size: payload.length, annotations },
      payload,
      leafPem,
      relog: (time) => {
        const at = logIndex++;
        return {
          uuid: `24296fb24b8ad77a${leafHash}`,
          entry: {
            body: bodyB64,
            integratedTime: time,
            logID: rekor.logId,
            logIndex: at,
            verification: { signedEntryTimestamp: setFor(time, at, rekor.privateKey) },
          },
        };
      },
      rekorEntry: {
        uuid: `24296fb24b8ad77a${leafHash}`,
        entry: {
          body: bodyB64,
          integratedTime,
          logID,
          logIndex: index,
          verification: { signedEntryTimestamp: set },
        },
      },
    };
  }

  async function attestImage(options: AttestImageOptions): Promise<AttestedImage> {
    const keyType = options.signerKey ?? "ecdsa-p256";
    const pair = keyType === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: keyType === "ecdsa-p384" ? "P-384" : "P-256" });
    const signerSpki = pair.publicKey.export({ format: "der", type: "spki" }) as Buffer;
    const { kind: _kind, ...certificateOptions } = options;
    const leafPem = await issueLeaf(certificateOptions, signerSpki);
    const statementOf = (tampered: boolean) =>
      Buffer.from(JSON.stringify({
        _type: "https://in-toto.io/Statement/v0.1",
        predicateType: options.predicateType ?? "https://slsa.dev/provenance/v1",
        subject: [{
          name: "registry.example/app",
          digest: { sha256: (options.subjectDigest ?? options.digest).replace(/^sha256:/, "") },
        }],
        predicate: tampered
          ? { builder: { id: "https://evil.example" } }
          : { builder: { id: "https://ci.example" } },
      }));
    const payloadType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
    const signedStatement = statementOf(false);
    const pae = (type: string, body: Buffer) =>
      Buffer.concat([
        Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `),
        body,
      ]);
    const signingKey = options.foreignSigner
      ? generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey
      : pair.privateKey;
    const sig = cryptoSign("sha256", pae(payloadType, signedStatement), signingKey);
    const b64 = (bytes: Buffer) =>
      options.base64 === "url"
        ? bytes.toString("base64").replaceAll("+", "-").replaceAll("/", "_")
        : bytes.toString("base64");
    const envelopeOf = (statement: Buffer) =>
      Buffer.from(JSON.stringify({
        payloadType,
        payload: b64(statement),
        signatures: [{ keyid: "", sig: b64(sig) }],
      }));
    const loggedEnvelope = envelopeOf(signedStatement);
    const statement = options.tamperStatement ? statementOf(true) : signedStatement;
    const envelope = options.tamperStatement ? envelopeOf(statement) : loggedEnvelope;

    const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
    const envHash = {
      algorithm: "sha256",
      value: options.body === "other-hash" ? sha(Buffer.from("other")) : sha(loggedEnvelope),
    };
    const payloadHash = { algorithm: "sha256", value: sha(signedStatement) };
    const bodyCertPem = options.body === "other-certificate" ? intermediate.pem : leafPem;
    const certB64 = Buffer.from(bodyCertPem).toString("base64");
    const sigB64 = sig.toString("base64");
    const kind = options.kind ?? "intoto-0.0.1";
    const body = kind === "intoto-0.0.1"
      ? {
        apiVersion: "0.0.1",
        kind: "intoto",
        spec: { content: { hash: envHash, payloadHash }, publicKey: certB64 },
      }
      : kind === "intoto-0.0.2"
      ? {
        apiVersion: "0.0.2",
        kind: "intoto",
        spec: {
          content: {
            envelope: {
              payloadType,
              signatures: [{ publicKey: certB64, sig: Buffer.from(sigB64).toString("base64") }],
            },
            hash: envHash,
            payloadHash,
          },
        },
      }
      : kind === "dsse-0.0.1"
      ? {
        apiVersion: "0.0.1",
        kind: "dsse",
        spec: { envelopeHash: envHash, payloadHash, signatures: [{ signature: sigB64, verifier: certB64 }] },
      }
      : {
        apiVersion: "0.0.1",
        kind: "hashedrekord",
        spec: { data: { hash: envHash }, signature: { content: sigB64, publicKey: { content: certB64 } } },
      };
    const bodyB64 = Buffer.from(JSON.stringify(body)).toString("base64");
    const integratedTime = options.integratedTime ?? FIXTURE_INTEGRATED_TIME;
    const rekorKey = options.rekorKey ?? "trusted";
    const logID = rekorKey === "unknown" ? otherLog.logId : rekor.logId;
    const signer = rekorKey === "trusted" ? rekor.privateKey : otherLog.privateKey;
    const index = logIndex++;
    const set = cryptoSign(
      "sha256",
      Buffer.from(json.canonicalize({ body: bodyB64, integratedTime, logID, logIndex: index })),
      signer,
    ).toString("base64");
    const leafHash = sha(Buffer.concat([Buffer.from([0]), Buffer.from(bodyB64, "base64")]));
    const chainPem = options.chain === undefined || options.chain === "default"
      ? (options.ca === "rogue" ? rogue.intermediate.pem + rogue.root.pem : intermediate.pem + root.pem)
      : options.chain === "none"
      ? null
      : options.chain;
    const bundleJson = options.bundle === false ? null : JSON.stringify({
      SignedEntryTimestamp: set,
      Payload: { body: bodyB64, integratedTime, logIndex: index, logID },
    });
    const digest = `sha256:${sha(envelope)}`;
    const annotations: Record<string, string> = {
      [ANNOTATIONS.signature]: "",
      [ANNOTATIONS.certificate]: leafPem,
    };
    if (chainPem !== null) annotations[ANNOTATIONS.chain] = chainPem;
    if (bundleJson !== null) annotations[ANNOTATIONS.bundle] = bundleJson;
    return {
      attestation: {
        layerDigest: digest,
        payload: envelope,
        signatureB64: "",
        certificatePem: leafPem,
        chainPem,
        bundleJson,
      },
      layer: { mediaType: DSSE_ENVELOPE_MEDIA_TYPE, digest, size: envelope.length, annotations },
      envelope,
      statement,
      leafPem,
      rekorEntry: {
        uuid: `24296fb24b8ad77a${leafHash}`,
        entry: {
          body: bodyB64,
          integratedTime,
          logID,
          logIndex: index,
          verification: { signedEntryTimestamp: set },
        },
      },
    };
  }

  async function writeTrustFiles(dir: string, options: { ctLogDer?: boolean } = {}): Promise<TrustFiles> {
    await Deno.mkdir(dir, { recursive: true });
    const rootFile = `${dir}/fulcio.pem`;
    const rekorFile = `${dir}/rekor.pub`;
    const ctFile = options.ctLogDer ? `${dir}/ctlog.der` : `${dir}/ctlog.pub`;
    await Deno.writeTextFile(rootFile, intermediate.pem + root.pem);
    await Deno.writeTextFile(rekorFile, rekor.pem);
    if (options.ctLogDer) await Deno.writeFile(ctFile, ctLog.spki);
    else await Deno.writeTextFile(ctFile, ctLog.pem);
    return {
      dir,
      env: {
        SIGSTORE_ROOT_FILE: rootFile,
        SIGSTORE_REKOR_PUBLIC_KEY: rekorFile,
        SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: ctFile,
      },
    };
  }

  function trustedRootJson(): string {
    const der = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s+/g, "");
    const start = "2020-01-01T00:00:00Z";
    const log = (l: FixtureLog, url: string) => ({
      baseUrl: url,
      hashAlgorithm: "SHA2_256",
      publicKey: {
        rawBytes: l.spki.toString("base64"),
        keyDetails: "PKIX_ECDSA_P256_SHA_256",
        validFor: { start },
      },
      logId: { keyId: Buffer.from(l.logId, "hex").toString("base64") },
    });
    return JSON.stringify({
      mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
      tlogs: [log(rekor, "https://rekor.test")],
      certificateAuthorities: [{
        subject: { organization: "sigstore.test", commonName: "sigstore" },
        uri: "https://fulcio.test",
        certChain: { certificates: [{ rawBytes: der(intermediate.pem) }, { rawBytes: der(root.pem) }] },
        validFor: { start },
      }],
      ctlogs: [log(ctLog, "https://ctfe.test")],
      timestampAuthorities: [],
    });
  }

  return {
    root,
    intermediate,
    rogueRoot: rogue.root,
    rogueIntermediate: rogue.intermediate,
    ctLog,
    rekor,
    otherLog,
    trust,
    signImage,
    attestImage,
    writeTrustFiles,
    trustedRootJson,
  };
}

/** A local HTTP server (TUF repository, fake Rekor). */
export interface LocalServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Requests seen, as `METHOD path`. */
  readonly requests: string[];
  /** Stops the server. */
  close(): Promise<void>;
}

function serve(handler: (req: Request, path: string) => Response | Promise<Response>): LocalServer {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(`${req.method} ${path}`);
    return handler(req, path);
  });
  const close = async () => {
    try {
      await server.shutdown();
    } catch {
      // already closed
    }
  };
  return { url: `http://127.0.0.1:${server.addr.port}`, requests, close, [Symbol.asyncDispose]: close };
}

/**
 * Serves a TUF repository (made by `@tufjs/repo-mock`) holding the given targets on 127.0.0.1, and writes its
 * initial `root.json` to `rootPath` (what `@sigstore/tuf` takes as `rootPath`).
 *
 * @param targets The targets (e.g. `trusted_root.json`).
 * @param rootPath Where to write the initial root.
 * @returns The server (its URL is the mirror URL).
 */
export async function startTufRepository(
  targets: readonly { name: string; content: string }[],
  rootPath: string,
): Promise<LocalServer> {
  const { initializeTUFRepo } = await import("@tufjs/repo-mock/dist/repo.js");
  const { tufHandlers } = await import("@tufjs/repo-mock/dist/handler.js");
  const repo = initializeTUFRepo(targets.map((t) => ({ ...t })));
  const handlers: { path: string; fn: () => { statusCode: number; response: string | Uint8Array } }[] =
    tufHandlers(repo, { metadataPathPrefix: "" });
  await Deno.writeTextFile(rootPath, JSON.stringify(repo.rootMeta.toJSON()));
  return serve((_req, path) => {
    const h = handlers.find((x) => x.path === path);
    if (!h) return new Response("not found", { status: 404 });
    const r = h.fn();
    return new Response(r.response as BodyInit, { status: r.statusCode });
  });
}

/**
 * A fake Rekor API on 127.0.0.1: `POST /api/v1/index/retrieve` answers the UUIDs of the entries whose body hash
 * is the requested payload hash; `GET /api/v1/log/entries/<uuid>` answers the entry.
 *
 * @param entries The entries it knows, with the sha256 hex of the payload each one logs.
 * @returns The server.
 */
export function startFakeRekor(
  entries: readonly { payloadSha256: string; entry: FixtureRekorEntry }[],
): LocalServer {
  return serve(async (req, path) => {
    if (req.method === "POST" && path === "/api/v1/index/retrieve") {
      const body = await req.json() as { hash?: string };
      const uuids = entries.filter((e) => `sha256:${e.payloadSha256}` === body.hash).map((e) => e.entry.uuid);
      return Response.json(uuids);
    }
    const m = /^\/api\/v1\/log\/entries\/([0-9a-f]+)$/.exec(path);
    const found = m && entries.find((e) => e.entry.uuid === m[1]);
    if (req.method === "GET" && found) return Response.json({ [found.entry.uuid]: found.entry.entry });
    return new Response("not found", { status: 404 });
  });
}
