/**
 * The registry client: the OCI Distribution API over `fetch` (see {@linkcode RegistryClient} in
 * `types.ts`). Manifests and blobs are read with their digest and size checked, bodies through a bounded
 * reader, every request under a time limit and the caller's signal, redirects and authentication as
 * `http.ts` and `auth.ts` say, credentials from the docker `config.json` (`docker_config.ts`).
 *
 * Every failure is an `AttestorError` with reason `registry-failed` whose message names the step, the
 * reference, the repository and the registry (`fetching manifest <ref> of <repo> from registry <reg>: …`);
 * an abort of the caller's signal is `cancelled` or `deadline-exceeded` (`src/core/abort.ts`). Registry
 * error bodies are reduced to their distribution error codes (`MANIFEST_UNKNOWN`, …): free text from a
 * registry or proxy could echo a credential.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import { type Logger, nullLogger } from "../log.ts";
import { type Authenticator, createAuthenticator } from "./auth.ts";
import {
  credentialKey,
  dockerConfigPath,
  type GetEnv,
  loadDockerConfig,
  type RegistryCredentials,
} from "./docker_config.ts";
import { type Exchange, type ExchangeResponse, registryBaseUrl, startExchange } from "./http.ts";
import type { FetchedManifest, RegistryCallOptions, RegistryClient, RegistryClientOptions } from "./types.ts";

/** Default time limit of one HTTP request (redirects and body included), milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Default largest manifest accepted, bytes (4 MiB, as containerd and go-containerregistry). */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The largest error body read to find its distribution error codes, bytes. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;

/** The manifest media types asked for, in preference order (images first, then indexes so they can be told). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];

/** The settings of {@linkcode createRegistryClient}: the contract's options plus test and logging hooks. */
export interface RegistryClientSettings extends RegistryClientOptions {
  /** Debug lines: tokens obtained (never their value), what the docker config holds that is not used. */
  readonly logger?: Logger;
  /** The clock of the token cache, milliseconds. @default {Date.now} */
  readonly now?: () => number;
  /** The environment (`DOCKER_CONFIG`, `HOME`) when `dockerConfigDir` is not given. @default {Deno.env.get} */
  readonly getEnv?: GetEnv;
  /**
   * Credentials per registry (`sigstore.registry_credentials`): a host with optional port → user name and
   * password. For its registry an entry takes precedence over the docker `config.json`, which is then not
   * read. Keys are matched as registries are (case-insensitive, and `docker.io`, `index.docker.io` and
   * `registry-1.docker.io` all name Docker Hub); two keys naming one registry are refused.
   */
  readonly credentials?:
    | ReadonlyMap<string, RegistryCredentials>
    | Readonly<Record<string, RegistryCredentials>>;
}

/** Whether the `credentials` setting is a (read-only) map: a `Map`, or anything with its `get`/`entries`. */
function isReadonlyMap(
  value: RegistryClientSettings["credentials"],
): value is ReadonlyMap<string, RegistryCredentials> {
  return value instanceof Map ||
    (typeof (value as ReadonlyMap<string, unknown>).get === "function" &&
      typeof (value as ReadonlyMap<string, unknown>).entries === "function");
}

/**
 * The `credentials` setting keyed by normalised registry ({@linkcode credentialKey}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normaliseCredentials } from "./registry.ts";
 * const m = normaliseCredentials({ "docker.io": { username: "u", password: "p" } });
 * assert.deepEqual([...m.keys()], ["index.docker.io"]);
 * assert.throws(() => normaliseCredentials({ "GHCR.io": m.get("index.docker.io")!, "ghcr.io": m.get("index.docker.io")! }), RangeError);
 * ```
 *
 * @param credentials The setting (a map or a record), or undefined.
 * @returns Normalised registry → credentials.
 * @throws {RangeError} When two keys name the same registry (the message names the keys, never a value).
 */
export function normaliseCredentials(
  credentials: RegistryClientSettings["credentials"],
): Map<string, RegistryCredentials> {
  const out = new Map<string, RegistryCredentials>();
  const keyOf = new Map<string, string>();
  if (credentials === undefined) return out;
  // Any ReadonlyMap (the configuration's is an immutable map, not a Map), else a plain record.
  const entries = isReadonlyMap(credentials)
    ? [...credentials.entries()]
    : Object.entries(credentials as Readonly<Record<string, RegistryCredentials>>);
  for (const [key, value] of entries) {
    const registry = credentialKey(key);
    const other = keyOf.get(registry);
    if (other !== undefined) {
      throw new RangeError(
        `Cannot create registry client as credentials ${JSON.stringify(other)} and ${JSON.stringify(key)} ` +
          "name the same registry",
      );
    }
    keyOf.set(registry, key);
    out.set(registry, { username: value.username, password: value.password });
  }
  return out;
}

/** A registry client that holds an HTTP client (with `caCerts`) until closed. */
export interface ClosableRegistryClient extends RegistryClient {
  /** Releases the HTTP client created for `caCerts`. Idempotent. */
  close(): void;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const OTHER_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPOSITORY_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Whether `repository` is a valid repository path of the distribution specification (lowercase components
 * joined by `/`, at most 255 characters).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValidRepository } from "./registry.ts";
 * assert.equal(isValidRepository("library/nginx"), true);
 * assert.equal(isValidRepository("../etc"), false);
 * assert.equal(isValidRepository("a/B"), false);
 * ```
 *
 * @param repository The path.
 * @returns True when valid.
 */
export function isValidRepository(repository: string): boolean {
  return repository.length > 0 && repository.length <= 255 &&
    repository.split("/").every((c) => REPOSITORY_COMPONENT.test(c));
}

/**
 * The `sha256:<hex>` digest of some bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Digest } from "./registry.ts";
 * assert.equal(
 *   await sha256Digest(new Uint8Array()),
 *   "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
 * );
 * ```
 *
 * @param bytes The bytes.
 * @returns The digest.
 */
export async function sha256Digest(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function referenceText(repository: string, reference: string): string {
  return `${reference} of ${repository}`;
}

/**
 * Creates a registry client.
 *
 * @example
 * ```ts ignore
 * import { createRegistryClient } from "./registry.ts";
 * const client = createRegistryClient({ dockerConfigDir: "/etc/k8s-attestor/docker" });
 * const manifest = await client.getManifest("ghcr.io", "spiffe/spire-agent", "1.9.6");
 * client.close();
 * ```
 *
 * @param options Credentials (per registry, and the docker config directory), extra CAs, limits, fetch, logger.
 * @returns The client.
 * @throws {RangeError} For a non-positive `requestTimeoutMs` or `maxManifestBytes`, or two `credentials`
 *   keys naming the same registry.
 */
export function createRegistryClient(options: RegistryClientSettings = {}): ClosableRegistryClient {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  if (!(timeoutMs > 0)) {
    throw new RangeError("Cannot create registry client as 'requestTimeoutMs' is not positive");
  }
  if (!(maxManifestBytes > 0)) {
    throw new RangeError("Cannot create registry client as 'maxManifestBytes' is not positive");
  }
  const configured = normaliseCredentials(options.credentials);
  const fetchFn = options.fetch ?? fetch;
  const logger = options.logger ?? nullLogger;
  const authenticator: Authenticator = createAuthenticator(options.now);
  let httpClient: Deno.HttpClient | undefined = options.caCerts && options.caCerts.length > 0
    ? Deno.createHttpClient({ caCerts: [...options.caCerts] })
    : undefined;
  const loggedNotes = new Set<string>();

  async function credentials(registry: string): Promise<RegistryCredentials | null> {
    // Configured credentials first: for their registry the docker config is not even read.
    const own = configured.get(credentialKey(registry));
    if (own !== undefined) return own;
    const config = await loadDockerConfig(dockerConfigPath(options.dockerConfigDir, options.getEnv));
    for (const note of config.notes) {
      if (loggedNotes.has(note)) continue;
      loggedNotes.add(note);
      logger.debug("Docker config entry not used", { path: config.path ?? "", note });
    }
    return config.credentialsFor(registry);
  }

  /** One call's context: how its errors read and how its requests go out. */
  function callContext(
    step: string,
    registry: string,
    repository: string,
    reference: string,
    signal?: AbortSignal,
  ) {
    const prefix = `${step} ${referenceText(repository, reference)} from registry ${registry}`;
    const fail = (problem: string, cause?: unknown) =>
      new AttestorError(
        "registry-failed",
        `${prefix}: ${problem}`,
        cause === undefined ? undefined : { cause },
      );
    const exchange = (): Exchange =>
      startExchange({ fetch: fetchFn, client: httpClient, timeoutMs, signal, fail });
    return { fail, exchange };
  }

  type Context = ReturnType<typeof callContext>;

  function checkTarget(ctx: Context, registry: string, repository: string): URL {
    const base = registryBaseUrl(registry);
    if (base === null) throw ctx.fail("not a registry host name (with optional port)");
    if (!isValidRepository(repository)) throw ctx.fail("not a valid repository name");
    return base;
  }

  function checkDigest(ctx: Context, digest: string): void {
    if (DIGEST.test(digest)) return;
    if (OTHER_DIGEST.test(digest) && !digest.startsWith("sha256:")) {
      throw ctx.fail("unsupported digest algorithm (only sha256)");
    }
    throw ctx.fail("not a valid digest");
  }

  /** GET with the cached authorization, answering one 401 challenge at most (never a loop). */
  async function authorizedGet(
    ctx: Context,
    registry: string,
    repository: string,
    url: URL,
    headers: Record<string, string>,
  ): Promise<{ exchange: Exchange; result: ExchangeResponse }> {
    const scope = `repository:${repository}:pull`;
    let authorization = authenticator.cached(registry, scope);
    let exchange = ctx.exchange();
    let result = await exchange.get(url, headers, authorization);
    if (result.response.status !== 401) return { exchange, result };
    await exchange.discard(result.response);
    if (result.crossOrigin) throw ctx.fail("401 Unauthorized from a redirect target on another origin");
    if (authorization !== null) authenticator.forget(registry, scope);
    const credentialsOfCall = async (name: string) => {
      try {
        return await credentials(name);
      } catch (err) {
        // The docker config's own error ("docker config <path>: <problem>"), placed in this call.
        throw err instanceof AttestorError ? ctx.fail(`reading credentials: ${err.message}`, err) : err;
      }
    };
    authorization = await authenticator.respond(
      registry,
      url,
      scope,
      result.response.headers.get("www-authenticate"),
      { credentials: credentialsOfCall, exchange: ctx.exchange, fail: ctx.fail, logger },
    );
    exchange = ctx.exchange();
    result = await exchange.get(url, headers, authorization);
    if (result.response.status === 401) {
      await exchange.discard(result.response);
      authenticator.forget(registry, scope);
      throw ctx.fail("401 Unauthorized after authenticating (the registry refused the credentials or token)");
    }
    return { exchange, result };
  }

  async function statusError(ctx: Context, exchange: Exchange, response: Response): Promise<AttestorError> {
    let codes: string[] = [];
    try {
      const body = await exchange.read(response, MAX_ERROR_BODY_BYTES, "error body");
      const doc = JSON.parse(new TextDecoder().decode(body));
      if (Array.isArray(doc?.errors)) {
        codes = doc.errors.map((e: { code?: unknown }) => e?.code)
          .filter((c: unknown): c is string => typeof c === "string" && /^[A-Z_]{1,64}$/.test(c))
          .slice(0, 5);
      }
    } catch (err) {
      if (err instanceof AttestorError && err.reason !== "registry-failed") throw err;
      // An unreadable or non-JSON error body: the status says enough.
    }
    return ctx.fail(
      `registry answered ${response.status}${codes.length > 0 ? ` (${codes.join(", ")})` : ""}`,
    );
  }

  return {
    async getManifest(
      registry: string,
      repository: string,
      reference: string,
      call: RegistryCallOptions = {},
    ): Promise<FetchedManifest | null> {
      const ctx = callContext("fetching manifest", registry, repository, reference, call.signal);
      const base = checkTarget(ctx, registry, repository);
      const byDigest = reference.includes(":");
      if (byDigest) checkDigest(ctx, reference);
      else if (!TAG.test(reference)) throw ctx.fail("not a valid tag or digest");
      const url = new URL(`v2/${repository}/manifests/${reference}`, base);
      const { exchange, result } = await authorizedGet(ctx, registry, repository, url, {
        accept: MANIFEST_MEDIA_TYPES.join(", "),
      });
      const { response } = result;
      if (response.status === 404) {
        await exchange.discard(response);
        return null;
      }
      if (response.status !== 200) throw await statusError(ctx, exchange, response);
      const bytes = await exchange.read(response, maxManifestBytes, "manifest");
      const digest = await sha256Digest(bytes);
      if (byDigest && digest !== reference) {
        throw ctx.fail(`digest mismatch: the manifest served has ${digest}`);
      }
      const claimed = response.headers.get("docker-content-digest");
      if (claimed !== null && claimed.startsWith("sha256:") && claimed !== digest) {
        throw ctx.fail(`digest mismatch: Docker-Content-Digest says ${claimed}, the bytes have ${digest}`);
      }
      const contentType = response.headers.get("content-type") ?? "";
      const mediaType = contentType.split(";")[0].trim().toLowerCase();
      return { bytes, mediaType, digest };
    },

    async getBlob(
      registry: string,
      repository: string,
      digest: string,
      maxBytes: number,
      call: RegistryCallOptions & { readonly expectedSize?: number } = {},
    ): Promise<Uint8Array> {
      const ctx = callContext("fetching blob", registry, repository, digest, call.signal);
      const base = checkTarget(ctx, registry, repository);
      checkDigest(ctx, digest);
      if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw ctx.fail("invalid size limit");
      const expected = call.expectedSize;
      if (expected !== undefined) {
        if (!Number.isSafeInteger(expected) || expected < 0) throw ctx.fail("invalid expected size");
        if (expected > maxBytes) {
          throw ctx.fail(`the blob's size ${expected} exceeds the limit of ${maxBytes} bytes`);
        }
      }
      const url = new URL(`v2/${repository}/blobs/${digest}`, base);
      const { exchange, result } = await authorizedGet(ctx, registry, repository, url, {});
      const { response } = result;
      if (response.status === 404) {
        await exchange.discard(response);
        throw ctx.fail("blob not found (404)");
      }
      if (response.status !== 200) throw await statusError(ctx, exchange, response);
      const bytes = await exchange.read(response, expected ?? maxBytes, "blob");
      if (expected !== undefined && bytes.length !== expected) {
        throw ctx.fail(`size mismatch: the blob served has ${bytes.length} bytes, expected ${expected}`);
      }
      const actual = await sha256Digest(bytes);
      if (actual !== digest) throw ctx.fail(`digest mismatch: the blob served has ${actual}`);
      return bytes;
    },

    close() {
      httpClient?.close();
      httpClient = undefined;
    },
  };
}
