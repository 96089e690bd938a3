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
import type { LogKey, SigstoreTrust } from "../sigstore/types.ts";
import {
  derLength,
  type FixtureLog,
  makeCaPair,
  makeLog,
  makeSct,
  OID_FULCIO_ISSUER_V1,
  OID_SCT_LIST,
  SIG_ALG,
  u16,
} from "./sigstore_ca.ts";
import {
  ANNOTATIONS,
  type AttestedImage,
  type AttestImageOptions,
  DSSE_ENVELOPE_MEDIA_TYPE,
  FIXTURE_CLOCK,
  FIXTURE_INTEGRATED_TIME,
  FIXTURE_ISSUER,
  FIXTURE_SUBJECT,
  IN_TOTO_PAYLOAD_TYPE,
  type SignedImage,
  type SignImageOptions,
  type SigstoreFixture,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type TrustFiles,
} from "./sigstore_fixture_types.ts";
export * from "./sigstore_fixture_types.ts";
export type { FixtureCa, FixtureLog } from "./sigstore_ca.ts";
export { type LocalServer, startFakeRekor, startTufRepository } from "./sigstore_servers.ts";

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
