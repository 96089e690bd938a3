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

import { Buffer } from "node:buffer";
import { createHash, sign as cryptoSign } from "node:crypto";
import type { LogKey, SigstoreTrust } from "../sigstore/types.ts";
import { type FixtureLog, makeCaPair, makeLog } from "./sigstore_ca.ts";
import { attestImage } from "./sigstore_fixture_attest.ts";
import { chainPemFor, type FixtureParts, issueLeaf, logBody, newSigner } from "./sigstore_fixture_parts.ts";
import {
  ANNOTATIONS,
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
  const parts: FixtureParts = {
    root,
    intermediate,
    rogue,
    ctLog,
    rekor,
    otherLog,
    nextLogIndex: () => logIndex++,
  };
  const trust: SigstoreTrust = {
    fulcioRoots: [root.pem],
    fulcioIntermediates: [],
    rekorKeys: [logKey(rekor)],
    ctLogKeys: [logKey(ctLog)],
    source: "sigstore fixture",
  };

  async function signImage(options: SignImageOptions): Promise<SignedImage> {
    const signer = newSigner(options.signerKey);
    const leafPem = await issueLeaf(parts, options, signer.spki);

    const signedDigest = options.payloadDigest ?? options.digest;
    const signedPayload = Buffer.from(JSON.stringify({
      critical: {
        identity: { "docker-reference": options.reference ?? "registry.example/app" },
        image: { "docker-manifest-digest": signedDigest },
        type: options.payloadType ?? "cosign container image signature",
      },
      optional: null,
    }));
    const signatureB64 = cryptoSign("sha256", signedPayload, signer.privateKey).toString("base64");

    const kind = options.kind ?? "hashedrekord";
    const payloadHash = createHash("sha256").update(signedPayload).digest("hex");
    const certB64 = Buffer.from(leafPem).toString("base64");
    const signature = kind === "hashedrekord"
      ? { content: signatureB64, publicKey: { content: certB64 } }
      : { content: signatureB64, format: "x509", publicKey: { content: certB64 } };
    const body = {
      apiVersion: "0.0.1",
      kind,
      spec: { data: { hash: { algorithm: "sha256", value: payloadHash } }, signature },
    };
    const logged = logBody(parts, Buffer.from(JSON.stringify(body)).toString("base64"), options);

    const payload = options.tamperPayload
      ? Buffer.from(signedPayload.toString().replace('"optional":null', '"optional":{"tampered":true}'))
      : signedPayload;
    const chainPem = chainPemFor(parts, options);
    const { bundleJson } = logged;
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
      relog: logged.relog,
      rekorEntry: logged.rekorEntry,
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
    attestImage: (options) => attestImage(parts, options),
    writeTrustFiles,
    trustedRootJson,
  };
}
