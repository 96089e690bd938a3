/**
 * Parses container image references (a pod's `imageID` or `image`) with go-containerregistry's rules
 * (`pkg/name.ParseReference`, weak validation, v0.21): `[registry/]repository[:tag][@sha256:<hex>]`.
 *
 * - The first path component is the registry when it contains `.` or `:` or is `localhost`; otherwise the
 *   registry is `index.docker.io` (Docker Hub), and a one-component repository gets the `library/` prefix.
 * - `docker.io` is rewritten to `index.docker.io` (`library/` is added there too).
 * - Repository: the characters `a-z 0-9 _ - . /`, 2 to 255 characters (counted before `library/` is added).
 * - Tag: `A-Z a-z 0-9 _ - .`, 1 to 128 characters; a reference without tag nor digest gets tag `latest`.
 * - Digest: only `sha256:` followed by exactly 64 lowercase hex digits. `repo:tag@sha256:…` keeps both.
 *
 * Stricter than go-containerregistry, on purpose (a reference that cannot be read exactly is refused):
 * - the registry must be a host name (letters, digits, `-`, `_`, `.`), an IPv4 address or a bracketed IPv6
 *   address, with an optional port of 1 to 5 digits (≤ 65535); go-containerregistry accepts any RFC 3986
 *   authority, e.g. `host:` with an empty port;
 * - a bare `sha256:<hex>` (containerd's image ID for an image loaded without a repository digest) is
 *   refused with a clear error: go-containerregistry reads it as tag `<hex>` of
 *   `index.docker.io/library/sha256`, a Docker Hub lookup that can only fail or, worse, find an attacker's
 *   repository;
 * - input longer than 4096 characters is refused.
 *
 * cri-dockerd reports image IDs as `docker-pullable://<reference>`: the `docker-pullable://` prefix is
 * stripped (upstream SPIRE fails to parse it). Any other `<scheme>://` prefix (cri-dockerd's
 * `docker://sha256:<hex>` for an image without a repository digest) is refused.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import type { ImageReference } from "./types.ts";

/** Docker Hub's registry name after normalisation. */
export const DEFAULT_REGISTRY = "index.docker.io";
/** The alias rewritten to {@linkcode DEFAULT_REGISTRY}. */
const DEFAULT_REGISTRY_ALIAS = "docker.io";
/** The tag of a reference that names neither tag nor digest. */
export const DEFAULT_TAG = "latest";
/** cri-dockerd's image ID prefix, stripped before parsing. */
export const DOCKER_PULLABLE_PREFIX = "docker-pullable://";
/** Longest reference accepted, characters. */
export const MAX_REFERENCE_LENGTH = 4096;

const REPOSITORY_CHARS = /^[a-z0-9_\-./]*$/;
const TAG_CHARS = /^[A-Za-z0-9_\-.]*$/;
const SHA256_HEX = /^[a-f0-9]{64}$/;
const BARE_DIGEST = /^sha256:[A-Fa-f0-9]*$/;
const HOST_LABEL = "[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?";
const REGISTRY = new RegExp(
  `^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::([0-9]{1,5}))?$`,
);

function bad(text: string, why: string): AttestorError {
  return new AttestorError(
    "signature-unverified",
    `invalid image reference ${JSON.stringify(clipText(text))}: ${why}`,
  );
}

/** `text` cut to 200 characters for messages. */
function clipText(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function checkRepository(text: string, repo: string): void {
  const n = [...repo].length;
  if (n < 2 || n > 255) {
    throw bad(text, `repository must be between 2 and 255 characters in length: ${JSON.stringify(repo)}`);
  }
  if (!REPOSITORY_CHARS.test(repo)) {
    throw bad(
      text,
      `repository can only contain the characters \`abcdefghijklmnopqrstuvwxyz0123456789_-./\`: ${
        JSON.stringify(repo)
      }`,
    );
  }
}

function checkTag(text: string, tag: string): void {
  if (tag.length < 1 || tag.length > 128) {
    throw bad(text, `tag must be between 1 and 128 characters in length: ${JSON.stringify(tag)}`);
  }
  if (!TAG_CHARS.test(tag)) {
    throw bad(
      text,
      `tag can only contain the characters \`a-z A-Z 0-9 _ - .\`: ${JSON.stringify(tag)}`,
    );
  }
}

function checkRegistry(text: string, registry: string): void {
  const m = REGISTRY.exec(registry);
  if (m === null || (m[1] !== undefined && Number(m[1]) > 65535)) {
    throw bad(
      text,
      `registry must be a host name or IP address with an optional port: ${JSON.stringify(registry)}`,
    );
  }
}

/** Splits `name` (no digest) into registry and repository, with the defaults applied. */
function parseRepository(text: string, name: string): { registry: string; repository: string } {
  if (name === "") throw bad(text, "a repository name must be specified");
  let registry = "";
  let repo = name;
  const slash = name.indexOf("/");
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first === "localhost" || first.includes(".") || first.includes(":")) {
      registry = first;
      repo = name.slice(slash + 1);
    }
  }
  checkRepository(text, repo);
  if (registry === "") registry = DEFAULT_REGISTRY;
  else checkRegistry(text, registry);
  if (registry === DEFAULT_REGISTRY_ALIAS) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repo.includes("/")) repo = `library/${repo}`;
  return { registry, repository: repo };
}

/** Splits a trailing `:tag` off `name` unless the last `:` belongs to a registry port (`host:5000/repo`). */
function splitTag(text: string, name: string): { base: string; tag: string | null } {
  const colon = name.lastIndexOf(":");
  if (colon < 0) return { base: name, tag: null };
  const tag = name.slice(colon + 1);
  if (tag.includes("/")) return { base: name, tag: null };
  if (tag === "") throw bad(text, "must specify a tag name after the colon");
  checkTag(text, tag);
  return { base: name.slice(0, colon), tag };
}

/**
 * Parses an image reference (see the module documentation for the rules).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseImageReference } from "./reference.ts";
 * assert.deepEqual(parseImageReference("nginx"), {
 *   registry: "index.docker.io", repository: "library/nginx", tag: "latest", digest: null,
 * });
 * const hex = "a".repeat(64);
 * assert.deepEqual(parseImageReference(`docker-pullable://ghcr.io/spiffe/spire-agent@sha256:${hex}`), {
 *   registry: "ghcr.io", repository: "spiffe/spire-agent", tag: null, digest: `sha256:${hex}`,
 * });
 * assert.throws(() => parseImageReference(`sha256:${hex}`), /a bare image digest/);
 * ```
 *
 * @param text The reference, e.g. a container status's `imageID`.
 * @returns The normalised reference.
 * @throws {AttestorError} `signature-unverified` naming the reference and what is wrong with it.
 */
export function parseImageReference(text: string): ImageReference {
  if (text.length > MAX_REFERENCE_LENGTH) {
    throw bad(text, `longer than ${MAX_REFERENCE_LENGTH} characters`);
  }
  let name = text.startsWith(DOCKER_PULLABLE_PREFIX) ? text.slice(DOCKER_PULLABLE_PREFIX.length) : text;
  if (name === "") throw bad(text, "the reference is empty");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(name);
  if (scheme !== null) {
    const rest = name.slice(scheme[0].length);
    if (BARE_DIGEST.test(rest)) {
      throw bad(
        text,
        "a bare image digest names no repository to fetch signatures from (the image was not pulled " +
          "by a repository digest)",
      );
    }
    throw bad(text, `unsupported scheme ${JSON.stringify(scheme[1] + "://")}`);
  }
  if (BARE_DIGEST.test(name)) {
    throw bad(
      text,
      "a bare image digest names no repository to fetch signatures from (the image was not pulled by " +
        "a repository digest, e.g. it was loaded locally)",
    );
  }
  let digest: string | null = null;
  const at = name.indexOf("@");
  if (at >= 0) {
    if (name.indexOf("@", at + 1) >= 0) throw bad(text, "a digest must contain exactly one '@' separator");
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!digest.startsWith("sha256:")) {
      throw bad(text, `unsupported digest algorithm: ${JSON.stringify(digest)} (only sha256 is accepted)`);
    }
    if (!SHA256_HEX.test(digest.slice(7))) {
      throw bad(text, `invalid sha256 digest (64 lowercase hex digits expected): ${JSON.stringify(digest)}`);
    }
  }
  const { base, tag } = splitTag(text, name);
  const { registry, repository } = parseRepository(text, base);
  return Object.freeze({
    registry,
    repository,
    tag: tag ?? (digest === null ? DEFAULT_TAG : null),
    digest,
  });
}

/**
 * The canonical text of a reference: `registry/repository[:tag][@digest]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatImageReference, parseImageReference } from "./reference.ts";
 * assert.equal(formatImageReference(parseImageReference("docker.io/nginx:1")), "index.docker.io/library/nginx:1");
 * ```
 *
 * @param ref A parsed reference.
 * @returns Its canonical text.
 */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === null ? "" : `:${ref.tag}`}${
    ref.digest === null ? "" : `@${ref.digest}`
  }`;
}
