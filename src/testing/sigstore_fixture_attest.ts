/**
 * The sigstore fixture's attestations: a DSSE envelope over an in-toto statement about an image, signed by a
 * Fulcio-like leaf and logged in Rekor as `intoto` 0.0.1 / 0.0.2, `dsse` 0.0.1 (or, as a negative case,
 * `hashedrekord`), with the exact OCI layer descriptor `cosign attest` pushes to the `.att` tag. Knobs make
 * the negative cases (tampered statement, foreign signer, a body with another hash or certificate, …).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, generateKeyPairSync, sign as cryptoSign } from "node:crypto";
import { chainPemFor, type FixtureParts, issueLeaf, logBody, newSigner } from "./sigstore_fixture_parts.ts";
import {
  ANNOTATIONS,
  type AttestedImage,
  type AttestImageOptions,
  DSSE_ENVELOPE_MEDIA_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
} from "./sigstore_fixture_types.ts";

/** sha256 hex. */
function sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The Rekor entry body of an attestation of `kind`. */
function attestationBody(
  kind: NonNullable<AttestImageOptions["kind"]>,
  parts: { envHash: object; payloadHash: object; certB64: string; sigB64: string; payloadType: string },
): object {
  const { envHash, payloadHash, certB64, sigB64, payloadType } = parts;
  switch (kind) {
    case "intoto-0.0.1":
      return {
        apiVersion: "0.0.1",
        kind: "intoto",
        spec: { content: { hash: envHash, payloadHash }, publicKey: certB64 },
      };
    case "intoto-0.0.2":
      return {
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
      };
    case "dsse-0.0.1":
      return {
        apiVersion: "0.0.1",
        kind: "dsse",
        spec: { envelopeHash: envHash, payloadHash, signatures: [{ signature: sigB64, verifier: certB64 }] },
      };
    case "hashedrekord":
      return {
        apiVersion: "0.0.1",
        kind: "hashedrekord",
        spec: { data: { hash: envHash }, signature: { content: sigB64, publicKey: { content: certB64 } } },
      };
  }
}

/**
 * Makes an attestation of `options.digest` with the fixture's CAs and logs (see
 * {@linkcode SigstoreFixture.attestImage}).
 *
 * @example
 * ```ts ignore
 * const { attestation, layer, envelope } = await attestImage(parts, { digest: "sha256:" + "a".repeat(64) });
 * ```
 *
 * @param parts The fixture's CAs and logs.
 * @param options The knobs; defaults pass every check.
 * @returns The attestation, its layer descriptor, envelope, statement, leaf and Rekor entry.
 */
export async function attestImage(parts: FixtureParts, options: AttestImageOptions): Promise<AttestedImage> {
  const signer = newSigner(options.signerKey);
  const { kind: _kind, ...certificateOptions } = options;
  const leafPem = await issueLeaf(parts, certificateOptions, signer.spki);
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
  const pae = Buffer.concat([
    Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${signedStatement.length} `),
    signedStatement,
  ]);
  const signingKey = options.foreignSigner
    ? generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey
    : signer.privateKey;
  const sig = cryptoSign("sha256", pae, signingKey);
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

  const body = attestationBody(options.kind ?? "intoto-0.0.1", {
    envHash: {
      algorithm: "sha256",
      value: options.body === "other-hash" ? sha(Buffer.from("other")) : sha(loggedEnvelope),
    },
    payloadHash: { algorithm: "sha256", value: sha(signedStatement) },
    certB64: Buffer.from(options.body === "other-certificate" ? parts.intermediate.pem : leafPem)
      .toString("base64"),
    sigB64: sig.toString("base64"),
    payloadType,
  });
  const { rekorEntry, bundleJson } = logBody(
    parts,
    Buffer.from(JSON.stringify(body)).toString("base64"),
    options,
  );
  const chainPem = chainPemFor(parts, options);
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
    rekorEntry,
  };
}
