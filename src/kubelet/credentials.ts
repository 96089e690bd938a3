/**
 * Loading and reloading the kubelet client's credentials: the CA bundle, the client certificate and key, and
 * the bearer token. Error texts follow upstream SPIRE (`unable to load token: ...`). A failed reload keeps
 * the last good credentials and is logged; the token is re-read at once after a 401.
 *
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Config } from "../config/types.ts";
import { AttestorError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { readSmallTextFile } from "../io.ts";

/** Which credential the client presents on the secure port (first rule that applies). */
export type KubeletAuthMode = "anonymous" | "client-certificate" | "token";

/** Everything read from files for one client. Immutable; a reload makes a new object. */
export interface KubeletCredentials {
  /** The auth mode these credentials were loaded for. */
  readonly authMode: KubeletAuthMode;
  /** The CA bundle PEM (only `CERTIFICATE` blocks), or null when verification is skipped. */
  readonly caPem: string | null;
  /** The parsed CA certificates (empty when verification is skipped). */
  readonly caCerts: readonly X509Certificate[];
  /** Client certificate PEM (`client-certificate` mode), else null. */
  readonly certPem: string | null;
  /** Client private key PEM (`client-certificate` mode), else null. Never log it. */
  readonly keyPem: string | null;
  /** The trimmed bearer token (`token` mode; "" means no header), else null. Never log it. */
  readonly token: string | null;
}

/** How files are found and read. */
export interface CredentialFileAccess {
  /** Maps a configured path to the path to open. @default identity */
  resolvePath?: (path: string) => string;
  /** Reads a file as text. @default {readSmallTextFile (regular files up to 1 MiB)} */
  readFile?: (path: string) => Promise<string>;
}

/**
 * Returns the auth mode for the secure port: anonymous, else client certificate when both paths are set,
 * else token. Throws the upstream error when only one of certificate and key path is set.
 *
 * @param config The plugin configuration.
 * @returns The mode.
 */
export function kubeletAuthMode(config: Config): KubeletAuthMode {
  if (config.useAnonymousAuthentication) return "anonymous";
  const cert = config.certificatePath !== "";
  const key = config.privateKeyPath !== "";
  if (cert && key) return "client-certificate";
  if (cert) {
    throw new AttestorError("bad-config", "the private key path is required with the certificate path");
  }
  if (key) {
    throw new AttestorError("bad-config", "the certificate path is required with the private key path");
  }
  return "token";
}

/**
 * Renders a file-system error like Go's `*PathError` text (`open <path>: no such file or directory`), so
 * messages match upstream.
 */
function osErrorText(err: unknown, path: string): string {
  if (err instanceof Deno.errors.NotFound) return `open ${path}: no such file or directory`;
  if (err instanceof Deno.errors.PermissionDenied) return `open ${path}: permission denied`;
  if (err instanceof Deno.errors.IsADirectory) return `read ${path}: is a directory`;
  const message = errorMessage(err);
  return `open ${path}: ${message}`;
}

interface PemBlock {
  type: string;
  text: string;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_RE)].map((m) => ({ type: m[1], text: m[0] }));
}

/**
 * Parses a CA bundle: at least one PEM block, every block a `CERTIFICATE` that parses.
 *
 * @param pem The file content.
 * @returns The certificates and the bundle re-assembled from the certificate blocks.
 * @throws {Error} With the reason (upstream texts `no PEM blocks`, `expected block type "CERTIFICATE"; got "X"`).
 */
export function parseCaBundle(pem: string): { certs: X509Certificate[]; pem: string } {
  const blocks = pemBlocks(pem);
  if (blocks.length === 0) throw new Error("no PEM blocks");
  const certs: X509Certificate[] = [];
  for (const block of blocks) {
    if (block.type !== "CERTIFICATE") {
      throw new Error(`expected block type "CERTIFICATE"; got "${block.type}"`);
    }
    try {
      certs.push(new X509Certificate(block.text));
    } catch (err) {
      throw new Error(`x509: malformed certificate: ${errorMessage(err)}`);
    }
  }
  return { certs, pem: blocks.map((b) => b.text).join("\n") + "\n" };
}

/**
 * Checks a certificate/key pair the way Go's `tls.X509KeyPair` does (first certificate block is the leaf; the
 * key must match its public key). Error texts follow Go's.
 */
function checkKeyPair(certPem: string, keyPem: string): void {
  const certBlocks = pemBlocks(certPem);
  const certs = certBlocks.filter((b) => b.type === "CERTIFICATE");
  if (certs.length === 0) {
    if (certBlocks.some((b) => b.type.endsWith("PRIVATE KEY"))) {
      throw new Error(
        "tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched",
      );
    }
    throw new Error("tls: failed to find any PEM data in certificate input");
  }
  const keys = pemBlocks(keyPem).filter((b) => b.type === "PRIVATE KEY" || b.type.endsWith(" PRIVATE KEY"));
  if (keys.length === 0) {
    if (pemBlocks(keyPem).some((b) => b.type === "CERTIFICATE")) {
      throw new Error(
        "tls: found a certificate rather than a key in the PEM for the private key",
      );
    }
    throw new Error("tls: failed to find any PEM data in key input");
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certs[0].text);
  } catch (err) {
    throw new Error(`x509: malformed certificate: ${errorMessage(err)}`);
  }
  let key;
  try {
    key = createPrivateKey(keys[0].text);
  } catch {
    throw new Error("tls: failed to parse private key");
  }
  if (!leaf.checkPrivateKey(key)) throw new Error("tls: private key does not match public key");
}

async function readOrThrow(
  read: (path: string) => Promise<string>,
  path: string,
  prefix: string,
): Promise<string> {
  try {
    return await read(path);
  } catch (err) {
    throw new AttestorError("bad-config", `${prefix}: ${osErrorText(err, path)}`, { cause: err });
  }
}

/**
 * Reads the token file and trims it.
 *
 * @param config The plugin configuration (`token_path`).
 * @param access Path resolution and file reading.
 * @returns The trimmed token ("" when the file is blank).
 * @throws {AttestorError} `bad-config` `unable to load token: <os error>`.
 */
export async function loadToken(config: Config, access: CredentialFileAccess = {}): Promise<string> {
  const { resolvePath = (p: string) => p, readFile = readSmallTextFile } = access;
  return (await readOrThrow(readFile, resolvePath(config.tokenPath), "unable to load token")).trim();
}

/**
 * Loads every credential file the configuration needs on the secure port. The read-only port needs none
 * (callers do not call this then). Errors carry upstream's texts, reason `bad-config`, and never the
 * content of a file.
 *
 * @example
 * ```ts ignore
 * const creds = await loadKubeletCredentials(config, { resolvePath: (p) => p });
 * console.log(creds.authMode);
 * ```
 *
 * @param config The plugin configuration.
 * @param access Path resolution and file reading.
 * @returns The credentials.
 * @throws {AttestorError} For example `unable to load kubelet CA: open /x: no such file or directory`.
 */
export async function loadKubeletCredentials(
  config: Config,
  access: CredentialFileAccess = {},
): Promise<KubeletCredentials> {
  const { resolvePath = (p: string) => p, readFile = readSmallTextFile } = access;
  let caPem: string | null = null;
  let caCerts: X509Certificate[] = [];
  if (!config.skipKubeletVerification) {
    const text = await readOrThrow(readFile, resolvePath(config.kubeletCaPath), "unable to load kubelet CA");
    try {
      const parsed = parseCaBundle(text);
      caPem = parsed.pem;
      caCerts = parsed.certs;
    } catch (err) {
      throw new AttestorError(
        "bad-config",
        `unable to parse kubelet CA: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }
  const authMode = kubeletAuthMode(config);
  let certPem: string | null = null;
  let keyPem: string | null = null;
  let token: string | null = null;
  if (authMode === "client-certificate") {
    certPem = await readOrThrow(readFile, resolvePath(config.certificatePath), "unable to load certificate");
    keyPem = await readOrThrow(readFile, resolvePath(config.privateKeyPath), "unable to load private key");
    try {
      checkKeyPair(certPem, keyPem);
    } catch (err) {
      throw new AttestorError(
        "bad-config",
        `unable to load keypair: ${errorMessage(err)}`,
      );
    }
  } else if (authMode === "token") {
    token = await loadToken(config, { resolvePath, readFile });
  }
  return { authMode, caPem, caCerts, certPem, keyPem, token };
}

/** Options of {@linkcode CredentialStore}. */
export interface CredentialStoreOptions extends CredentialFileAccess {
  /** The plugin configuration (paths, `reload_interval`). */
  config: Config;
  /** The credentials loaded at configure time. */
  initial: KubeletCredentials;
  /** Where reload failures are reported. */
  logger: Logger;
  /** Milliseconds clock. @default {Date.now} */
  now?: () => number;
}

/**
 * Holds the current credentials and reloads them from files when `reload_interval` has passed (checked when
 * a request starts; there is no background timer). A failed reload keeps the last good credentials, logs a
 * warning (once per distinct error) and is retried at the next request.
 */
export class CredentialStore {
  #config: Config;
  #access: Required<CredentialFileAccess>;
  #logger: Logger;
  #now: () => number;
  #current: KubeletCredentials;
  #loadedAt: number;
  #reloading: Promise<KubeletCredentials> | null = null;
  #lastFailure: string | null = null;

  /** @param options Configuration, initial credentials, logger and clock. */
  constructor(options: CredentialStoreOptions) {
    this.#config = options.config;
    this.#access = {
      resolvePath: options.resolvePath ?? ((p) => p),
      readFile: options.readFile ?? readSmallTextFile,
    };
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#current = options.initial;
    this.#loadedAt = this.#now();
  }

  /** The credentials in use, without reloading. */
  get credentials(): KubeletCredentials {
    return this.#current;
  }

  /**
   * Returns the credentials for a new request, reloading first when `reload_interval` has passed since the
   * last successful load. Never fails: a failed reload keeps the previous credentials.
   */
  current(): Promise<KubeletCredentials> {
    if (this.#now() - this.#loadedAt < this.#config.reloadIntervalMs) return Promise.resolve(this.#current);
    this.#reloading ??= this.#reload().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  async #reload(): Promise<KubeletCredentials> {
    try {
      const next = await loadKubeletCredentials(this.#config, this.#access);
      this.#current = next;
      this.#loadedAt = this.#now();
      if (this.#lastFailure !== null) {
        this.#logger.info("Reloaded kubelet client credentials after earlier failures");
        this.#lastFailure = null;
      }
    } catch (err) {
      const text = errorMessage(err);
      if (text !== this.#lastFailure) {
        this.#logger.warn("Unable to reload kubelet client credentials; keeping the last good ones", {
          error: text,
        });
        this.#lastFailure = text;
      }
    }
    return this.#current;
  }

  /**
   * Re-reads the token file at once (after a 401). Returns true when a different token was loaded, so the
   * caller retries; false when the mode is not `token`, the file cannot be read (logged; the old token is
   * kept) or the token did not change.
   */
  async refreshToken(): Promise<boolean> {
    const before = this.#current;
    if (before.authMode !== "token") return false;
    let token: string;
    try {
      token = await loadToken(this.#config, this.#access);
    } catch (err) {
      this.#logger.warn("Unable to re-read the kubelet token after a 401; keeping the last good one", {
        error: errorMessage(err),
      });
      return false;
    }
    if (this.#current !== before) return this.#current.token !== before.token;
    if (token === before.token) return false;
    this.#current = { ...before, token };
    return true;
  }
}
