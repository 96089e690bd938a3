/**
 * Constants and types of the offline sigstore fixtures (`sigstore_fixtures.ts`): fixed times and identities,
 * cosign media types and annotation keys, and the shapes of signed images, attestations and trust files.
 *
 * @module
 */

import type { CosignSignature, SigstoreTrust } from "../sigstore/types.ts";
import type { FixtureCa, FixtureLog } from "./sigstore_ca.ts";

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
