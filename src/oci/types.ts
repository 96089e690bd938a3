/**
 * The contract of the OCI registry client (Distribution API over `fetch`): what the sigstore verifier asks
 * of a registry. The implementation lives next to this file (`reference.ts`, `registry.ts`, `auth.ts`,
 * `docker_config.ts`); the verifier depends only on these types, so its tests can swap the client.
 *
 * @module
 */

/** A parsed image reference, normalised as go-containerregistry does (`docker.io` → `index.docker.io`). */
export interface ImageReference {
  /** Registry host with optional port, e.g. `index.docker.io`, `127.0.0.1:5000`, `ghcr.io`. */
  readonly registry: string;
  /** Repository path, e.g. `library/nginx`, `spiffe/spire-agent`. */
  readonly repository: string;
  /** The tag, or null when the reference has none (a digest-only reference). */
  readonly tag: string | null;
  /** The digest `sha256:<64 lowercase hex>`, or null for a tag-only reference. */
  readonly digest: string | null;
}

/** A manifest as fetched: its bytes exactly as served, its media type and the sha256 digest of the bytes. */
export interface FetchedManifest {
  /** The manifest bytes exactly as served (their digest is checked when asked for by digest). */
  readonly bytes: Uint8Array;
  /** The `Content-Type` the registry gave (parameters removed). */
  readonly mediaType: string;
  /** `sha256:<hex>` of {@linkcode FetchedManifest.bytes}. */
  readonly digest: string;
}

/** Options of one registry call. */
export interface RegistryCallOptions {
  /** Aborts the call (the attestation's deadline or cancellation). */
  readonly signal?: AbortSignal;
}

/**
 * Reads manifests and blobs from OCI registries. Every failure is an `AttestorError` with reason
 * `registry-failed` whose message names the registry, repository and what went wrong, never a credential.
 */
export interface RegistryClient {
  /**
   * `GET /v2/<repository>/manifests/<reference>` (a tag or a digest), with the OCI and Docker v2 manifest
   * media types accepted. When `reference` is a digest, the bytes' sha256 must equal it.
   *
   * @returns The manifest, or null when the registry answers 404 (the manifest does not exist).
   */
  getManifest(
    registry: string,
    repository: string,
    reference: string,
    options?: RegistryCallOptions,
  ): Promise<FetchedManifest | null>;
  /**
   * `GET /v2/<repository>/blobs/<digest>`: the blob's bytes, whose sha256 must equal `digest` and whose size
   * must not exceed `maxBytes` (nor `expectedSize` when given).
   */
  getBlob(
    registry: string,
    repository: string,
    digest: string,
    maxBytes: number,
    options?: RegistryCallOptions & { readonly expectedSize?: number },
  ): Promise<Uint8Array>;
}

/** Settings of a registry client: implemented by `registry.ts` (`createRegistryClient(options)`). */
export interface RegistryClientOptions {
  /** Directory holding the docker `config.json` (`DOCKER_CONFIG`); undefined: `$HOME/.docker`. */
  readonly dockerConfigDir?: string;
  /** Extra CA certificates (PEM) trusted for HTTPS registries, besides the platform's roots. */
  readonly caCerts?: readonly string[];
  /** Time limit of each HTTP request, milliseconds. */
  readonly requestTimeoutMs?: number;
  /** Longest manifest accepted, bytes. */
  readonly maxManifestBytes?: number;
  /** The `fetch` to use (tests inject faults); the global one otherwise. */
  readonly fetch?: typeof fetch;
}
