/**
 * Registry credentials from the docker `config.json` (`<DOCKER_CONFIG or $HOME/.docker>/config.json`), as
 * the docker CLI and go-containerregistry read its `auths` map: an entry's `auth` (base64 `user:password`)
 * or its `username`/`password`. Keys are normalised as the docker CLI does (scheme and path dropped, so
 * `https://ghcr.io/v1/` is `ghcr.io`), and every Docker Hub spelling (`https://index.docker.io/v1/`,
 * `index.docker.io`, `docker.io`, `registry-1.docker.io`) names Docker Hub.
 *
 * Out of scope, and said so at debug level (never an error): credential helpers (`credHelpers`,
 * `credsStore`), whose programs the plugin does not run, and identity or registry tokens (`identitytoken`,
 * `registrytoken`), whose entries are used anonymously. A file that is not valid JSON or not in the expected
 * form is an error naming the file and the problem, never its content.
 *
 * @module
 */

import { join } from "node:path";
import { AttestorError } from "../errors.ts";
import { FileTooLargeError, readSmallTextFile } from "../io.ts";

/** A user name and password for a registry (Basic credentials, or exchanged for a bearer token). */
export interface RegistryCredentials {
  /** The user name. */
  readonly username: string;
  /** The password or access token. Never logged. */
  readonly password: string;
}

/** The credentials of a docker `config.json`, ready for look-ups. */
export interface DockerConfig {
  /** The file they came from, or null when there is none. */
  readonly path: string | null;
  /**
   * The credentials for `registry` (a host with optional port; any Docker Hub spelling), or null.
   *
   * @param registry The registry, as in an image reference.
   */
  credentialsFor(registry: string): RegistryCredentials | null;
  /** What was ignored and why (credential helpers, token entries): for a debug log line. Never a secret. */
  readonly notes: readonly string[];
}

/** The registry name that every Docker Hub spelling maps to. */
export const DOCKER_HUB = "index.docker.io";

const DOCKER_HUB_ALIASES = new Set(["index.docker.io", "docker.io", "registry-1.docker.io"]);

/** The key the docker CLI itself writes for Docker Hub; preferred over other spellings of it. */
const DOCKER_HUB_LEGACY_KEY = "https://index.docker.io/v1/";

/**
 * The registry an `auths` key or a registry name stands for: lowercased, without scheme and path, with
 * every Docker Hub spelling as {@linkcode DOCKER_HUB}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { credentialKey } from "./docker_config.ts";
 * assert.equal(credentialKey("https://index.docker.io/v1/"), "index.docker.io");
 * assert.equal(credentialKey("docker.io"), "index.docker.io");
 * assert.equal(credentialKey("http://LocalHost:5000/v2/"), "localhost:5000");
 * ```
 *
 * @param key An `auths` key or a registry.
 * @returns The normalised registry.
 */
export function credentialKey(key: string): string {
  let host = key.toLowerCase();
  if (host.startsWith("https://")) host = host.slice(8);
  else if (host.startsWith("http://")) host = host.slice(7);
  const slash = host.indexOf("/");
  if (slash >= 0) host = host.slice(0, slash);
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** Reads an environment variable; `undefined` when unset. */
export type GetEnv = (name: string) => string | undefined;

const defaultGetEnv: GetEnv = (name) => Deno.env.get(name);

/**
 * Where the docker `config.json` is: in `dir` when given, else in `$DOCKER_CONFIG`, else in
 * `$HOME/.docker` (`%USERPROFILE%\.docker` on Windows when `HOME` is unset).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dockerConfigPath } from "./docker_config.ts";
 * const env = (n: string) => ({ HOME: "/home/u" } as Record<string, string>)[n];
 * assert.equal(dockerConfigPath(undefined, env), "/home/u/.docker/config.json");
 * assert.equal(dockerConfigPath("/etc/creds", env), "/etc/creds/config.json");
 * ```
 *
 * @param dir The directory from the options, if any.
 * @param getEnv The environment. @default {Deno.env.get}
 * @returns The file's path, or null when no directory is known.
 */
export function dockerConfigPath(dir?: string, getEnv: GetEnv = defaultGetEnv): string | null {
  const base = dir ?? nonEmpty(getEnv("DOCKER_CONFIG")) ?? homeDockerDir(getEnv);
  return base === null ? null : join(base, "config.json");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function homeDockerDir(getEnv: GetEnv): string | null {
  const home = nonEmpty(getEnv("HOME")) ?? nonEmpty(getEnv("USERPROFILE"));
  return home === undefined ? null : join(home, ".docker");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeAuth(auth: string): string | null {
  const compact = auth.trim();
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return null;
  try {
    const bin = atob(compact);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

const EMPTY: DockerConfig = { path: null, credentialsFor: () => null, notes: [] };

/**
 * Parses the text of a docker `config.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDockerConfig } from "./docker_config.ts";
 * const text = JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: btoa("me:pw") } } });
 * const config = parseDockerConfig(text, "/x/config.json");
 * assert.deepEqual(config.credentialsFor("docker.io"), { username: "me", password: "pw" });
 * assert.equal(config.credentialsFor("ghcr.io"), null);
 * assert.throws(() => parseDockerConfig("{oops", "/x/config.json"), /x\/config.json: not valid JSON/);
 * ```
 *
 * @param text The file's content.
 * @param path The file's path, for messages.
 * @returns The credentials.
 * @throws {AttestorError} `registry-failed "docker config <path>: <problem>"`; the problem names the
 *   `auths` key and field, never a value.
 */
export function parseDockerConfig(text: string, path: string): DockerConfig {
  const bad = (problem: string) => new AttestorError("registry-failed", `docker config ${path}: ${problem}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Never the parser's message: it quotes the content, which may hold a password.
    throw bad("not valid JSON");
  }
  if (!isRecord(doc)) throw bad("not a JSON object");
  const notes: string[] = [];
  if (doc.credsStore !== undefined) {
    notes.push("credsStore is not supported (credential helpers are not run); its registries are anonymous");
  }
  if (doc.credHelpers !== undefined) {
    if (!isRecord(doc.credHelpers)) throw bad(`"credHelpers" is not an object`);
    const hosts = Object.keys(doc.credHelpers).map(credentialKey).sort().join(", ");
    notes.push(`credHelpers are not supported (credential helpers are not run): ${hosts} anonymous`);
  }
  const auths = doc.auths ?? {};
  if (!isRecord(auths)) throw bad(`"auths" is not an object`);

  /** registry → credentials and whether the key was the registry's own spelling (preferred). */
  const found = new Map<string, { creds: RegistryCredentials; exact: boolean }>();
  for (const [key, entry] of Object.entries(auths)) {
    const where = `"auths" entry ${JSON.stringify(key)}`;
    if (!isRecord(entry)) throw bad(`${where} is not an object`);
    for (const field of ["auth", "username", "password", "identitytoken", "registrytoken"]) {
      if (entry[field] !== undefined && typeof entry[field] !== "string") {
        throw bad(`${where}: "${field}" is not a string`);
      }
    }
    const registry = credentialKey(key);
    if (entry.identitytoken || entry.registrytoken) {
      notes.push(`${registry}: identitytoken/registrytoken are not supported; the entry is not used`);
      continue;
    }
    let creds: RegistryCredentials | null = null;
    if (typeof entry.auth === "string" && entry.auth !== "") {
      const decoded = decodeAuth(entry.auth);
      if (decoded === null) throw bad(`${where}: "auth" is not valid base64 of UTF-8 text`);
      const colon = decoded.indexOf(":");
      if (colon < 0) throw bad(`${where}: "auth" does not decode to "user:password"`);
      creds = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    } else if (typeof entry.username === "string" && entry.username !== "") {
      creds = {
        username: entry.username,
        password: typeof entry.password === "string" ? entry.password : "",
      };
    }
    if (creds === null) continue; // an empty entry (as docker leaves with a credsStore)
    const exact = registry === DOCKER_HUB ? key === DOCKER_HUB_LEGACY_KEY : key.toLowerCase() === registry;
    const previous = found.get(registry);
    if (previous === undefined || (exact && !previous.exact)) found.set(registry, { creds, exact });
  }
  return {
    path,
    credentialsFor: (registry) => found.get(credentialKey(registry))?.creds ?? null,
    notes,
  };
}

/**
 * Reads and parses the docker `config.json` at `path`; a missing file (or no path) means no credentials.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDockerConfig } from "./docker_config.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal((await loadDockerConfig(`${dir}/config.json`)).credentialsFor("ghcr.io"), null);
 * await Deno.writeTextFile(`${dir}/config.json`, '{"auths":{"ghcr.io":{"username":"u","password":"p"}}}');
 * assert.equal((await loadDockerConfig(`${dir}/config.json`)).credentialsFor("ghcr.io")?.username, "u");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path The file (see {@linkcode dockerConfigPath}), or null.
 * @returns The credentials.
 * @throws {AttestorError} `registry-failed "docker config <path>: <problem>"` for a file that cannot be read
 *   (not a regular file, over 1 MiB, permission denied) or parsed (see {@linkcode parseDockerConfig}).
 */
export async function loadDockerConfig(path: string | null): Promise<DockerConfig> {
  if (path === null) return EMPTY;
  let text: string;
  try {
    text = await readSmallTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { ...EMPTY, path };
    const problem =
      err instanceof FileTooLargeError || (err instanceof Error && err.message === "not a regular file")
        ? err.message
        : `cannot be read (${err instanceof Error ? err.name : "error"})`;
    throw new AttestorError("registry-failed", `docker config ${path}: ${problem}`, { cause: err });
  }
  return parseDockerConfig(text, path);
}
