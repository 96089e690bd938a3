/**
 * In-memory fakes for the verifier tests: a {@linkcode RegistryClient} holding manifests and blobs (with a
 * request log, digest and size checks, abort support and an optional gate to hold requests), builders of
 * cosign `.sig` manifests, and a scripted {@linkcode SignatureCheck}. The real registry and real crypto are
 * covered by the end-to-end tests.
 */
import { createHash } from "node:crypto";
import { AttestorError } from "../../src/errors.ts";
import type { FetchedManifest, RegistryClient } from "../../src/oci/types.ts";
import {
  type CosignSignature,
  type SignatureCheck,
  type SignatureCheckContext,
  SignatureRejected,
  type SigstoreTrust,
  type VerifiedSignature,
} from "../../src/sigstore/types.ts";
import { abortError } from "../../src/core/abort.ts";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export const TRUST: SigstoreTrust = Object.freeze({
  fulcioRoots: ["root-pem"],
  fulcioIntermediates: [],
  rekorKeys: [],
  ctLogKeys: [],
  source: "test",
});

/** One registry request, as logged. */
export interface Request {
  readonly kind: "manifest" | "blob";
  readonly registry: string;
  readonly repository: string;
  readonly reference: string;
}

/** An in-memory registry client. */
export class MemoryRegistry implements RegistryClient {
  readonly manifests = new Map<string, { bytes: Uint8Array; mediaType: string }>();
  readonly blobs = new Map<string, Uint8Array>();
  readonly requests: Request[] = [];
  /** While set, every request waits for it. */
  gate: Promise<void> | null = null;
  /** Signals seen by requests, to check that aborts reach the registry. */
  readonly signals: AbortSignal[] = [];

  putManifest(
    registry: string,
    repository: string,
    reference: string,
    body: unknown,
    mediaType = OCI_MANIFEST,
  ) {
    const bytes = new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
    this.manifests.set(`${registry}/${repository}:${reference}`, { bytes, mediaType });
    return sha256(bytes);
  }

  putBlob(registry: string, repository: string, bytes: Uint8Array): string {
    const digest = sha256(bytes);
    this.blobs.set(`${registry}/${repository}@${digest}`, bytes);
    return digest;
  }

  async #wait(signal?: AbortSignal): Promise<void> {
    if (signal) this.signals.push(signal);
    if (this.gate) {
      const gate = this.gate;
      await new Promise<void>((resolve, reject) => {
        signal?.addEventListener("abort", () => reject(abortError(signal)), { once: true });
        gate.then(resolve);
      });
    }
    if (signal?.aborted) throw abortError(signal);
  }

  async getManifest(
    registry: string,
    repository: string,
    reference: string,
    options?: { signal?: AbortSignal },
  ): Promise<FetchedManifest | null> {
    this.requests.push({ kind: "manifest", registry, repository, reference });
    await this.#wait(options?.signal);
    const found = this.manifests.get(`${registry}/${repository}:${reference}`);
    if (!found) return null;
    const digest = sha256(found.bytes);
    if (reference.startsWith("sha256:") && digest !== reference) {
      throw new AttestorError("registry-failed", `manifest digest mismatch for ${reference}`);
    }
    return { bytes: found.bytes, mediaType: found.mediaType, digest };
  }

  async getBlob(
    registry: string,
    repository: string,
    digest: string,
    maxBytes: number,
    options?: { signal?: AbortSignal; expectedSize?: number },
  ): Promise<Uint8Array> {
    this.requests.push({ kind: "blob", registry, repository, reference: digest });
    await this.#wait(options?.signal);
    const bytes = this.blobs.get(`${registry}/${repository}@${digest}`);
    if (!bytes) throw new AttestorError("registry-failed", `blob ${digest} not found`);
    if (bytes.length > maxBytes) {
      throw new AttestorError("registry-failed", `blob ${digest} over ${maxBytes}`);
    }
    if (options?.expectedSize !== undefined && bytes.length !== options.expectedSize) {
      throw new AttestorError("registry-failed", `blob ${digest} size mismatch`);
    }
    return bytes;
  }
}

/** A signature layer to push: payload text and annotations. */
export interface LayerSpec {
  readonly payload: string;
  readonly signature?: string;
  readonly certificate?: string;
  readonly chain?: string;
  readonly bundle?: string;
  readonly mediaType?: string;
}

/**
 * Pushes an image manifest to `registry/repository` and, unless `layers` is null, its `.sig` manifest with
 * one layer per spec. Returns the image digest.
 */
export function pushSignedImage(
  reg: MemoryRegistry,
  registry: string,
  repository: string,
  layers: readonly LayerSpec[] | null,
  imageBody: unknown = { schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [], tag: crypto.randomUUID() },
): string {
  const digest = reg.putManifest(registry, repository, "placeholder", imageBody);
  reg.manifests.set(
    `${registry}/${repository}:${digest}`,
    reg.manifests.get(`${registry}/${repository}:placeholder`)!,
  );
  reg.manifests.delete(`${registry}/${repository}:placeholder`);
  if (layers !== null) {
    const descriptors = layers.map((l) => {
      const bytes = new TextEncoder().encode(l.payload);
      const blobDigest = reg.putBlob(registry, repository, bytes);
      const annotations: Record<string, string> = {};
      if (l.signature !== undefined) annotations["dev.cosignproject.cosign/signature"] = l.signature;
      if (l.certificate !== undefined) annotations["dev.sigstore.cosign/certificate"] = l.certificate;
      if (l.chain !== undefined) annotations["dev.sigstore.cosign/chain"] = l.chain;
      if (l.bundle !== undefined) annotations["dev.sigstore.cosign/bundle"] = l.bundle;
      return {
        mediaType: l.mediaType ?? SIMPLE_SIGNING,
        digest: blobDigest,
        size: bytes.length,
        annotations,
      };
    });
    reg.putManifest(registry, repository, `sha256-${digest.slice(7)}.sig`, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256("{}"), size: 2 },
      layers: descriptors,
    });
  }
  return digest;
}

/**
 * A signature check scripted by the payload text: a payload `ok:<subject>` verifies with that subject, any
 * other payload is rejected (`identity`). Records each call's context.
 */
export function scriptedCheck(): SignatureCheck & {
  calls: { signature: CosignSignature; context: SignatureCheckContext }[];
} {
  const calls: { signature: CosignSignature; context: SignatureCheckContext }[] = [];
  const check = (signature: CosignSignature, context: SignatureCheckContext): Promise<VerifiedSignature> => {
    calls.push({ signature, context });
    const text = new TextDecoder().decode(signature.payload);
    if (text.startsWith("ok:")) {
      return Promise.resolve({
        layerDigest: signature.layerDigest,
        subject: text.slice(3),
        issuer: "https://issuer.example",
        content: signature.signatureB64,
        logId: "c0d23d6a",
        integratedTime: 1700000000,
      });
    }
    return Promise.reject(new SignatureRejected("identity", `subject of ${text} is not allowed`));
  };
  return Object.assign(check, { calls });
}
