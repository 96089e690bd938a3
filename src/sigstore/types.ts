/**
 * The contract between the parts of sigstore image-signature verification (the seed's
 * `experimental { sigstore { … } }` block; SPIRE v1.9.6 with cosign v2.2.x is the reference):
 *
 * - `cosign_layers.ts` turns a cosign signature manifest (`<repo>:sha256-<hex>.sig`) and its blobs into
 *   {@linkcode CosignSignature}s;
 * - `trust.ts` loads the {@linkcode SigstoreTrust} (Fulcio roots and intermediates, Rekor and CT log keys)
 *   from the `SIGSTORE_*` files or TUF;
 * - `verify_signature.ts` checks one signature against the trust and the policy and gives a
 *   {@linkcode VerifiedSignature} or throws a {@linkcode SignatureRejected};
 * - `verifier.ts` puts it together for one container: skip list, cache, registry, selectors.
 *
 * @module
 */

/** One cosign signature: a simple-signing layer of the `.sig` manifest and its annotations. */
export interface CosignSignature {
  /** The layer's digest (`sha256:<hex>`), to name the signature in errors and logs. */
  readonly layerDigest: string;
  /** The layer blob: the simple-signing payload, exactly as stored (the signature is over these bytes). */
  readonly payload: Uint8Array;
  /** `dev.cosignproject.cosign/signature`: the base64 signature over the payload. */
  readonly signatureB64: string;
  /** `dev.sigstore.cosign/certificate`: the PEM leaf certificate, or null when absent. */
  readonly certificatePem: string | null;
  /** `dev.sigstore.cosign/chain`: PEM intermediates (…root), or null when absent. */
  readonly chainPem: string | null;
  /** `dev.sigstore.cosign/bundle`: the Rekor bundle JSON text, or null when absent. */
  readonly bundleJson: string | null;
}

/** What the checks of one signature established: the values of its selectors. */
export interface VerifiedSignature {
  /** The layer digest of the signature. */
  readonly layerDigest: string;
  /** The certificate's first subject alternative name (Go order: DNS, email, IP, URI, other names). */
  readonly subject: string;
  /** The OIDC issuer: the raw value of extension 1.3.6.1.4.1.57264.1.1. */
  readonly issuer: string;
  /** `spec.signature.content` of the Rekor entry body (upstream's `image-signature-content`). */
  readonly content: string;
  /** The Rekor log ID (hex), from the bundle. */
  readonly logId: string;
  /** The Rekor integrated time, Unix seconds. */
  readonly integratedTime: number;
}

/** Why a signature was not accepted: a short machine code and a message naming the check that failed. */
export type SignatureRejection =
  | "malformed"
  | "no-certificate"
  | "untrusted-chain"
  | "no-code-signing"
  | "sct"
  | "no-bundle"
  | "tlog"
  | "expired"
  | "bad-signature"
  | "identity"
  | "wrong-image";

/** Thrown by the per-signature check; the verifier keeps the message to explain a failed attestation. */
export class SignatureRejected extends Error {
  /** The check that failed. */
  readonly rejection: SignatureRejection;

  /**
   * @param rejection The check that failed.
   * @param message What failed, naming the value (never a secret).
   */
  constructor(rejection: SignatureRejection, message: string) {
    super(message);
    this.name = "SignatureRejected";
    this.rejection = rejection;
  }
}

/** A Rekor transparency-log or CT-log public key with its log ID (hex sha256 of the SPKI DER). */
export interface LogKey {
  /** Hex sha256 of the key's SubjectPublicKeyInfo DER. */
  readonly logId: string;
  /** The key, in SPKI PEM form. */
  readonly publicKeyPem: string;
  /** When the key is valid (Rekor: the integrated time must fall in it); open ends are undefined. */
  readonly validFrom?: Date;
  /** End of validity, or undefined for none. */
  readonly validUntil?: Date;
}

/** The trust the checks use: Fulcio certificates, Rekor keys and CT log keys, and where each came from. */
export interface SigstoreTrust {
  /** Self-signed Fulcio root certificates (PEM). */
  readonly fulcioRoots: readonly string[];
  /** Fulcio intermediate certificates (PEM) known from the trust source (not from a signature's chain). */
  readonly fulcioIntermediates: readonly string[];
  /** Rekor public keys. */
  readonly rekorKeys: readonly LogKey[];
  /** CT log public keys. */
  readonly ctLogKeys: readonly LogKey[];
  /** Where the trust came from, for the log: e.g. `SIGSTORE_ROOT_FILE=/etc/…`, `TUF (cache /var/…)`. */
  readonly source: string;
}

/** The policy of one configuration: who may sign and whether an SCT is required. */
export interface SignaturePolicy {
  /** OIDC issuer → the subjects allowed for it (exact strings, as upstream era 1). */
  readonly allowedSubjects: ReadonlyMap<string, readonly string[]>;
  /** Require a valid embedded SCT (`enforce_sct`, default true). */
  readonly enforceSct: boolean;
}

/** What one signature is checked against, besides the signature itself. */
export interface SignatureCheckContext {
  /** The trust material loaded at Configure. */
  readonly trust: SigstoreTrust;
  /** Allowed identities and `enforce_sct`. */
  readonly policy: SignaturePolicy;
  /** The digest the image ID names (`sha256:<hex>`): the payload must name exactly this digest. */
  readonly imageDigest: string;
  /** `rekor_url`: where an entry is looked up when the signature carries no bundle. */
  readonly rekorUrl: string;
  /** Aborts network work (the Rekor lookup) with the attestation. */
  readonly signal?: AbortSignal;
}

/**
 * Checks one signature: implemented by `verify_signature.ts` (`verifySignature`). Resolves with the
 * selector values, or rejects with {@linkcode SignatureRejected} (an `AttestorError` for an aborted call).
 */
export type SignatureCheck = (signature: CosignSignature, context: SignatureCheckContext) => Promise<
  VerifiedSignature
>;

/** Where trust material comes from: the process environment and the TUF settings. */
export interface TrustLoadOptions {
  /** Reads an environment variable (`SIGSTORE_ROOT_FILE`, `SIGSTORE_REKOR_PUBLIC_KEY`, …). */
  readonly env: (name: string) => string | undefined;
  /** Directory of the TUF cache, used when an env file does not give a part. */
  readonly tufCachePath: string;
  /** TUF mirror URL (the public Sigstore mirror unless set; tests point it at a local repository). */
  readonly tufMirrorUrl?: string;
  /**
   * The initial TUF `root.json` for a mirror that `@sigstore/tuf` has no seed for (a private mirror, a test
   * repository); used only while the cache holds no root for that mirror.
   */
  readonly tufRootPath?: string;
  /** Aborts the TUF refresh. */
  readonly signal?: AbortSignal;
}

/**
 * Loads trust material: implemented by `trust.ts` (`loadSigstoreTrust`). Rejects with an `AttestorError`
 * `bad-config` naming the file or the TUF step that failed.
 */
export type TrustLoader = (options: TrustLoadOptions) => Promise<SigstoreTrust>;
