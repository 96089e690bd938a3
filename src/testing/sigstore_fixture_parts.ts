/**
 * What the sigstore fixture's signatures and attestations are made from: the CAs and logs of one fixture,
 * signer keys, Fulcio-like leaf certificates (with an embedded SCT unless asked otherwise), the chain
 * annotation, and the Rekor entry (SET, bundle, UUID) of a body. Used by `sigstore_fixtures.ts` (signatures)
 * and `sigstore_fixture_attest.ts` (attestations).
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { Buffer } from "node:buffer";
import { createHash, generateKeyPairSync, type KeyObject, sign as cryptoSign } from "node:crypto";
import { json, X509Certificate as CoreCertificate } from "@sigstore/core";
import {
  derLength,
  type FixtureCa,
  type FixtureLog,
  makeSct,
  OID_FULCIO_ISSUER_V1,
  OID_SCT_LIST,
  SIG_ALG,
  u16,
} from "./sigstore_ca.ts";
import {
  FIXTURE_CLOCK,
  FIXTURE_INTEGRATED_TIME,
  FIXTURE_ISSUER,
  FIXTURE_SUBJECT,
  type FixtureRekorEntry,
  type SignImageOptions,
} from "./sigstore_fixture_types.ts";

/** The CAs and logs of one fixture, and its log index counter. */
export interface FixtureParts {
  /** The trusted root CA. */
  readonly root: FixtureCa;
  /** The trusted intermediate CA (issues the leaves). */
  readonly intermediate: FixtureCa;
  /** An untrusted CA pair with the same names. */
  readonly rogue: { readonly root: FixtureCa; readonly intermediate: FixtureCa };
  /** The trusted CT log. */
  readonly ctLog: FixtureLog;
  /** The trusted Rekor log. */
  readonly rekor: FixtureLog;
  /** A log nobody trusts. */
  readonly otherLog: FixtureLog;
  /** The next Rekor log index (each entry takes one). */
  nextLogIndex(): number;
}

/** The options that shape a leaf certificate, its chain and its Rekor entry. */
export type LeafOptions = Pick<
  SignImageOptions,
  | "ca"
  | "identity"
  | "leafValidity"
  | "codeSigning"
  | "sct"
  | "chain"
  | "integratedTime"
  | "rekorKey"
  | "bundle"
  | "signerKey"
>;

/**
 * A fresh signer key pair of the asked type and its SPKI DER.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newSigner } from "./sigstore_fixture_parts.ts";
 * assert.equal(newSigner("ecdsa-p384").privateKey.asymmetricKeyDetails?.namedCurve, "secp384r1");
 * ```
 *
 * @param keyType `ecdsa-p256` (default), `ecdsa-p384` or `rsa`.
 * @returns The private key and the public key's SPKI DER.
 */
export function newSigner(keyType: SignImageOptions["signerKey"]): { privateKey: KeyObject; spki: Buffer } {
  const pair = keyType === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ec", { namedCurve: keyType === "ecdsa-p384" ? "P-384" : "P-256" });
  return {
    privateKey: pair.privateKey,
    spki: pair.publicKey.export({ format: "der", type: "spki" }) as Buffer,
  };
}

/**
 * A Fulcio-like leaf for `signerSpki`: key usage, CodeSigning (unless `codeSigning: false`), one SAN, the
 * Fulcio issuer extension, and an embedded SCT from the CT log (RFC 6962 precertificate flow) unless
 * `sct: "none"`.
 *
 * @example
 * ```ts ignore
 * const leafPem = await issueLeaf(parts, { identity: { subject: "a@b.c" } }, newSigner(undefined).spki);
 * ```
 *
 * @param parts The fixture's CAs and logs.
 * @param options The leaf's shape.
 * @param signerSpki The signer's public key (SPKI DER).
 * @returns The leaf, PEM.
 */
export async function issueLeaf(
  parts: FixtureParts,
  options: LeafOptions,
  signerSpki: Buffer,
): Promise<string> {
  const ca = options.ca === "rogue" ? parts.rogue.intermediate : parts.intermediate;
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
    const log = options.sct === "unknown-log" ? parts.otherLog : parts.ctLog;
    const sct = makeSct(log, ca.key.spki, tbs, validity.notBefore);
    const list = Buffer.concat([u16(sct.length + 2), u16(sct.length), sct]);
    const octet = Buffer.concat([Buffer.from([0x04]), derLength(list.length), list]);
    extensions.push(new x509.Extension(OID_SCT_LIST, false, octet));
  }
  const cert = await x509.X509CertificateGenerator.create(params);
  return cert.toString("pem") + "\n";
}

/**
 * The chain annotation: the fixture's intermediate + root (or the rogue pair's with `ca: "rogue"`) by
 * default, none, or the given PEM text.
 *
 * @example
 * ```ts ignore
 * assert.equal(chainPemFor(parts, { chain: "none" }), null);
 * ```
 *
 * @param parts The fixture's CAs.
 * @param options `chain` and `ca`.
 * @returns The annotation's text, or null for none.
 */
export function chainPemFor(parts: FixtureParts, options: LeafOptions): string | null {
  if (options.chain === "none") return null;
  if (options.chain !== undefined && options.chain !== "default") return options.chain;
  const pair = options.ca === "rogue" ? parts.rogue : parts;
  return pair.intermediate.pem + pair.root.pem;
}

/** A body logged in Rekor: the entry as the API gives it, the bundle annotation, and a way to log it again. */
export interface LoggedBody {
  /** The entry (`GET /api/v1/log/entries/<uuid>`). */
  readonly rekorEntry: FixtureRekorEntry;
  /** The bundle annotation's JSON, or null with `bundle: false`. */
  readonly bundleJson: string | null;
  /** Logs the same body again (another index) at `integratedTime`, signed by the trusted Rekor key. */
  relog(integratedTime: number): FixtureRekorEntry;
}

/**
 * Logs `bodyB64`: the next log index, a SET over Rekor's canonical JSON signed by the trusted Rekor key (or,
 * with `rekorKey`, by a key nobody trusts under the trusted or an unknown log ID), and the UUID from the RFC
 * 6962 leaf hash.
 *
 * @example
 * ```ts ignore
 * const { rekorEntry, bundleJson } = logBody(parts, btoa("{}"), {});
 * ```
 *
 * @param parts The fixture's logs.
 * @param bodyB64 The entry body, standard base64.
 * @param options `integratedTime`, `rekorKey`, `bundle`.
 * @returns The entry and its bundle.
 */
export function logBody(parts: FixtureParts, bodyB64: string, options: LeafOptions): LoggedBody {
  const { rekor, otherLog } = parts;
  const integratedTime = options.integratedTime ?? FIXTURE_INTEGRATED_TIME;
  const rekorKey = options.rekorKey ?? "trusted";
  const leafHash = createHash("sha256").update(Buffer.from([0])).update(Buffer.from(bodyB64, "base64"))
    .digest("hex");
  const entryAt = (time: number, logID: string, key: KeyObject): FixtureRekorEntry => {
    const logIndex = parts.nextLogIndex();
    const signedEntryTimestamp = cryptoSign(
      "sha256",
      Buffer.from(json.canonicalize({ body: bodyB64, integratedTime: time, logID, logIndex })),
      key,
    ).toString("base64");
    return {
      uuid: `24296fb24b8ad77a${leafHash}`,
      entry: { body: bodyB64, integratedTime: time, logID, logIndex, verification: { signedEntryTimestamp } },
    };
  };
  const rekorEntry = entryAt(
    integratedTime,
    rekorKey === "unknown" ? otherLog.logId : rekor.logId,
    rekorKey === "trusted" ? rekor.privateKey : otherLog.privateKey,
  );
  const { entry } = rekorEntry;
  const bundleJson = options.bundle === false ? null : JSON.stringify({
    SignedEntryTimestamp: entry.verification.signedEntryTimestamp,
    Payload: { body: bodyB64, integratedTime, logIndex: entry.logIndex, logID: entry.logID },
  });
  return { rekorEntry, bundleJson, relog: (time) => entryAt(time, rekor.logId, rekor.privateKey) };
}
