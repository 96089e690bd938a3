/**
 * Pushing to a registry with the real upload API of the distribution specification, for tests: blobs by
 * `POST /v2/<repo>/blobs/uploads/` then `PUT <location>?digest=<digest>` (a monolithic upload), manifests by
 * `PUT /v2/<repo>/manifests/<tag or digest>`. Works against the real `docker-registry`
 * (`registry.ts`) and anything else that speaks the API; Basic credentials are sent when given.
 *
 * @module
 */

import { sha256Digest } from "../oci/registry.ts";

/** A content descriptor of the OCI image specification. */
export interface Descriptor {
  /** The media type of the content. */
  readonly mediaType: string;
  /** `sha256:<hex>` of the content. */
  readonly digest: string;
  /** Its length in bytes. */
  readonly size: number;
  /** Annotations, if any. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A layer to push: its bytes, media type and annotations. */
export interface LayerSpec {
  /** The layer's bytes. */
  readonly bytes: Uint8Array;
  /** @default {"application/vnd.oci.image.layer.v1.tar+gzip"} */
  readonly mediaType?: string;
  /** Layer annotations (cosign puts the signature, certificate, chain and bundle here). */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** What {@linkcode RegistryPusher.pushImage} pushes: config, layers and the manifest around them. */
export interface ImageSpec {
  /** The config blob. @default {a minimal linux/amd64 image config, JSON} */
  readonly config?: Uint8Array;
  /** @default {"application/vnd.oci.image.config.v1+json"} */
  readonly configMediaType?: string;
  /** The layers. @default {one layer of 64 random bytes} */
  readonly layers?: readonly LayerSpec[];
  /** Manifest annotations. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The manifest's media type (also its `mediaType` field). @default {"application/vnd.oci.image.manifest.v1+json"} */
  readonly mediaType?: string;
}

/** What was pushed for an image. */
export interface PushedImage {
  /** The manifest's digest (what a pod's `imageID` names). */
  readonly digest: string;
  /** The manifest bytes exactly as pushed. */
  readonly manifest: Uint8Array;
  /** The manifest's media type. */
  readonly mediaType: string;
  /** The config descriptor. */
  readonly config: Descriptor;
  /** The layer descriptors, in order. */
  readonly layers: readonly Descriptor[];
}

/** Pushes blobs, manifests and images to one registry. */
export interface RegistryPusher {
  /**
   * Uploads a blob (POST, then PUT with the digest).
   *
   * @param repository The repository.
   * @param bytes The blob.
   * @returns Its digest and size (media type `application/octet-stream`).
   */
  pushBlob(repository: string, bytes: Uint8Array): Promise<Descriptor>;
  /**
   * Puts a manifest under a tag or its digest.
   *
   * @param repository The repository.
   * @param reference A tag, or the manifest's digest.
   * @param bytes The manifest bytes (sent exactly).
   * @param mediaType Its `Content-Type`.
   * @returns The manifest's digest.
   */
  pushManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string>;
  /**
   * Pushes config, layers and a manifest referencing them, under `tag` (or by digest when null).
   *
   * @param repository The repository.
   * @param tag The tag, or null to push by digest only.
   * @param spec Config, layers, annotations, media type.
   * @returns What was pushed.
   */
  pushImage(repository: string, tag: string | null, spec?: ImageSpec): Promise<PushedImage>;
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

const encoder = new TextEncoder();

async function expectStatus(response: Response, expected: number, what: string): Promise<void> {
  if (response.status === expected) {
    await response.body?.cancel();
    return;
  }
  const text = await response.text();
  throw new Error(`${what}: expected ${expected}, got ${response.status}: ${text.slice(0, 500)}`);
}

/**
 * Creates a pusher for the registry at `baseUrl`.
 *
 * @example
 * ```ts ignore
 * import { registryPusher } from "./registry_push.ts";
 * const pusher = registryPusher("http://127.0.0.1:5000");
 * const image = await pusher.pushImage("team/app", "v1");
 * console.log(image.digest);
 * ```
 *
 * @param baseUrl E.g. `http://127.0.0.1:5000`.
 * @param credentials Basic credentials sent with every request, if any.
 * @returns The pusher.
 */
export function registryPusher(
  baseUrl: string,
  credentials?: { readonly username: string; readonly password: string },
): RegistryPusher {
  const headers = (extra: Record<string, string> = {}): Headers => {
    const h = new Headers(extra);
    if (credentials) {
      h.set("authorization", `Basic ${btoa(`${credentials.username}:${credentials.password}`)}`);
    }
    return h;
  };
  const url = (path: string) => new URL(path, baseUrl);

  const pushBlob = async (repository: string, bytes: Uint8Array): Promise<Descriptor> => {
    const digest = await sha256Digest(bytes);
    const start = await fetch(url(`/v2/${repository}/blobs/uploads/`), {
      method: "POST",
      headers: headers(),
    });
    const location = start.headers.get("location");
    await expectStatus(start, 202, `starting the upload of ${digest} to ${repository}`);
    if (location === null) throw new Error(`starting the upload of ${digest}: no Location`);
    const target = new URL(location, baseUrl);
    target.searchParams.set("digest", digest);
    const put = await fetch(target, {
      method: "PUT",
      headers: headers({ "content-type": "application/octet-stream" }),
      body: bytes as Uint8Array<ArrayBuffer>,
    });
    await expectStatus(put, 201, `finishing the upload of ${digest} to ${repository}`);
    return { mediaType: "application/octet-stream", digest, size: bytes.length };
  };

  const pushManifest = async (
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<string> => {
    const response = await fetch(url(`/v2/${repository}/manifests/${reference}`), {
      method: "PUT",
      headers: headers({ "content-type": mediaType }),
      body: bytes as Uint8Array<ArrayBuffer>,
    });
    await expectStatus(response, 201, `putting manifest ${reference} of ${repository}`);
    return await sha256Digest(bytes);
  };

  return {
    pushBlob,
    pushManifest,
    async pushImage(repository, tag, spec = {}) {
      const layerSpecs = spec.layers ?? [{ bytes: crypto.getRandomValues(new Uint8Array(64)) }];
      const layers: Descriptor[] = [];
      for (const layer of layerSpecs) {
        const pushed = await pushBlob(repository, layer.bytes);
        layers.push({
          mediaType: layer.mediaType ?? OCI_LAYER,
          digest: pushed.digest,
          size: pushed.size,
          ...(layer.annotations ? { annotations: { ...layer.annotations } } : {}),
        });
      }
      const configBytes = spec.config ?? encoder.encode(JSON.stringify({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
      }));
      const configPushed = await pushBlob(repository, configBytes);
      const config: Descriptor = { ...configPushed, mediaType: spec.configMediaType ?? OCI_CONFIG };
      const mediaType = spec.mediaType ?? OCI_MANIFEST;
      const manifest = encoder.encode(JSON.stringify({
        schemaVersion: 2,
        mediaType,
        config,
        layers,
        ...(spec.annotations ? { annotations: spec.annotations } : {}),
      }));
      const digest = await sha256Digest(manifest);
      await pushManifest(repository, tag ?? digest, manifest, mediaType);
      return { digest, manifest, mediaType, config, layers };
    },
  };
}
