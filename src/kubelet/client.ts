/**
 * The kubelet HTTP(S) client: builds the `/pods` URL from the configuration, verifies the kubelet's TLS
 * certificate (against the configured CA only, and the node name or the machine's hostname), authenticates
 * (anonymous, client certificate or bearer token), and returns the response body as text. Connections are kept
 * alive between requests (`connections.ts`): the certificate check runs on every new connection, a
 * connection is only reused with the TLS material (CA, client certificate and key) it was made with, and
 * {@linkcode KubeletClient.close} closes them all. No process-wide TLS setting is ever touched.
 *
 * @module
 */

import { isIP } from "node:net";
import { hostname as osHostname } from "node:os";
import type { Config } from "../config/types.ts";
import { AttestorError } from "../errors.ts";
import { type Logger, nullLogger } from "../log.ts";
import { KubeletConnections } from "./connections.ts";
import { CredentialStore, type KubeletCredentials, loadKubeletCredentials } from "./credentials.ts";
import { redactedPrefix, redactionMargin, redactSecrets } from "./redact.ts";
import {
  decodePodsBody,
  type KubeletEndpoint,
  type PodsRequestTarget,
  type RawResponse,
  requestOnce,
  tlsOptions,
} from "./request.ts";
import { readSmallTextFile } from "../io.ts";

export type { KubeletEndpoint } from "./request.ts";

/** Default request timeout: 10 s, as upstream. */
export const DEFAULT_KUBELET_TIMEOUT_MS = 10_000;
/** Default cap on the `/pods` body: 64 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/**
 * How much of a non-200 body goes into the error. More is read (see {@linkcode redactionMargin}) so that
 * secrets are removed before the cut.
 */
const STATUS_BODY_BYTES = 1024;

/**
 * Computes the kubelet endpoint: the read-only port gives `http://127.0.0.1:<port>/pods` (the node name is
 * not used); otherwise `https://<node name or 127.0.0.1>:<secure port>/pods`, IPv6 literals bracketed.
 *
 * @example
 * ```ts ignore
 * kubeletEndpoint(config).url; // "https://node-1:10250/pods"
 * ```
 *
 * @param config The plugin configuration (`nodeName` already resolved by the config builder).
 * @returns The endpoint.
 */
export function kubeletEndpoint(config: Config): KubeletEndpoint {
  if (config.kubeletReadOnlyPort > 0) {
    const port = config.kubeletReadOnlyPort;
    return { url: `http://127.0.0.1:${port}/pods`, secure: false, host: "127.0.0.1", port, nodeName: "" };
  }
  const port = config.kubeletSecurePort;
  const nodeName = config.nodeName;
  const host = nodeName !== "" ? nodeName : "127.0.0.1";
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  return { url: `https://${urlHost}:${port}/pods`, secure: true, host, port, nodeName };
}

/** Options of {@linkcode createKubeletClient}. */
export interface KubeletClientOptions {
  /** The plugin configuration. */
  config: Config;
  /** Maps a configured file path to the path to open (Windows prefixes them). @default identity */
  resolvePath?: (path: string) => string;
  /** Logger for warnings (never given a secret). @default {nullLogger} */
  logger?: Logger;
  /**
   * The name the kubelet certificate must carry when there is no node name (127.0.0.1).
   * @default {os.hostname()}
   */
  hostname?: string;
  /** Request timeout covering connect, headers and body. @default {10000} */
  timeoutMs?: number;
  /** Maximum `/pods` body size in bytes. @default {67108864} */
  maxBodyBytes?: number;
  /** Milliseconds clock for `reload_interval`. @default {Date.now} */
  now?: () => number;
  /** Reads a credential file. @default {readSmallTextFile (regular files up to 1 MiB)} */
  readFile?: (path: string) => Promise<string>;
}

/** A configured kubelet client. */
export interface KubeletClient {
  /** The URL requested (contains no secret). */
  readonly url: string;
  /**
   * Performs `GET /pods` and returns the body text of a 200 response.
   *
   * @param signal Aborts the request (error reason `cancelled`).
   * @throws {AttestorError} `kubelet-unreachable` for connection, TLS, timeout and read errors,
   * `kubelet-rejected` for a status other than 200, `kubelet-bad-response` for a size or encoding error; the
   * message names the URL. For a non-200 answer it shows at most the first KiB of the body, after every
   * secret the request used (the bearer token, also the one before a 401 retry, and the client key) was
   * removed from the whole body read, in raw, percent-encoded and JSON-escaped forms; every other message
   * is scrubbed the same way.
   */
  fetchPods(signal?: AbortSignal): Promise<string>;
  /**
   * Closes every kept-alive connection, also one a request is using (that request fails); a later
   * {@linkcode KubeletClient.fetchPods} fails with `cancelled "kubelet client is closed: <url>"`. Called when
   * the configuration that created the client is replaced, and when the plugin stops. Idempotent.
   */
  close(): void;
}

/** The secrets a request with `creds` sends or holds. */
function secretsOf(creds: KubeletCredentials | null): string[] {
  if (creds === null) return [];
  return [creds.token, creds.keyPem].filter((s): s is string => typeof s === "string" && s !== "");
}

/** `err` with every secret removed from its message (the cause is dropped when something was removed). */
function scrub(err: unknown, secrets: readonly string[]): unknown {
  if (!(err instanceof AttestorError)) return err;
  const message = redactSecrets(err.message, secrets);
  return message === err.message ? err : new AttestorError(err.reason, message);
}

/**
 * How much of a non-200 body is read: the part the error shows plus the redaction margin of the secrets the
 * fetch used, so that they are removed before the cut.
 */
function errorBodyLimit(secrets: readonly string[]): number {
  return STATUS_BODY_BYTES + redactionMargin(secrets);
}

/** The error for a non-200 answer: the status and the first KiB of the body, secrets removed. */
function statusError(res: RawResponse, secrets: readonly string[], url: string): AttestorError {
  const text = redactedPrefix(res.body, secrets, STATUS_BODY_BYTES).trimEnd();
  return new AttestorError(
    "kubelet-rejected",
    `unexpected status code on pods response: ${res.status} ${text} (GET ${url})`,
  );
}

/**
 * The secure port's setup: loads the credentials (upstream's Configure-time errors) into a reloading store
 * and determines the name the kubelet certificate must carry (the node name, else the machine's hostname);
 * warns once when verification is skipped.
 */
async function prepareSecurePort(
  endpoint: KubeletEndpoint,
  config: Config,
  options: KubeletClientOptions,
  deps: Required<Pick<KubeletClientOptions, "logger" | "now" | "resolvePath" | "readFile">>,
): Promise<{ store: CredentialStore; expectedName: string }> {
  const { logger, now, resolvePath, readFile } = deps;
  const initial = await loadKubeletCredentials(config, { resolvePath, readFile });
  const store = new CredentialStore({ config, initial, logger, now, resolvePath, readFile });
  const expectedName = endpoint.nodeName !== "" ? endpoint.nodeName : (options.hostname ?? osHostname());
  if (config.skipKubeletVerification) {
    logger.warn(
      "Kubelet certificate verification is disabled (skip_kubelet_verification); the kubelet's identity is not checked",
      {
        url: endpoint.url,
      },
    );
  } else if (expectedName === "") {
    throw new AttestorError(
      "bad-config",
      "unable to determine the machine's hostname to verify the kubelet certificate; set node_name",
    );
  }
  return { store, expectedName };
}

/**
 * Creates a kubelet client, loading the credential files at once (upstream's Configure-time errors, reason
 * `bad-config`). In read-only-port mode no file is read and TLS/auth settings are ignored. With
 * `skip_kubelet_verification` the CA is not read and a warning is logged once.
 *
 * @example
 * ```ts ignore
 * const client = await createKubeletClient({ config, logger });
 * const body = await client.fetchPods(AbortSignal.timeout(15_000));
 * ```
 *
 * @param options Configuration and injectable dependencies.
 * @returns The client.
 * @throws {AttestorError} `bad-config` with upstream's credential error texts.
 */
export async function createKubeletClient(options: KubeletClientOptions): Promise<KubeletClient> {
  const {
    config,
    resolvePath = (p: string) => p,
    logger = nullLogger,
    timeoutMs = DEFAULT_KUBELET_TIMEOUT_MS,
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    now = Date.now,
    readFile = readSmallTextFile,
  } = options;
  if (!(timeoutMs > 0)) {
    throw new RangeError(
      `Cannot create kubelet client as 'timeoutMs' must be > 0: current value is ${timeoutMs}`,
    );
  }
  if (!(maxBodyBytes > 0)) {
    throw new RangeError(
      `Cannot create kubelet client as 'maxBodyBytes' must be > 0: current value is ${maxBodyBytes}`,
    );
  }
  const endpoint = kubeletEndpoint(config);
  const url = endpoint.url;
  const { store, expectedName } = endpoint.secure
    ? await prepareSecurePort(endpoint, config, options, { logger, now, resolvePath, readFile })
    : { store: null, expectedName: "" };
  const target: PodsRequestTarget = {
    endpoint,
    tlsOptions: (creds) => tlsOptions(endpoint, creds, config.skipKubeletVerification, expectedName),
    timeoutMs,
    maxBodyBytes,
  };
  const connections = new KubeletConnections({ secure: endpoint.secure });
  const closedError = () => new AttestorError("cancelled", `kubelet client is closed: ${url}`);
  /** One request through the kept-alive connections of `creds`' TLS material. */
  const request = async (
    creds: KubeletCredentials | null,
    deadline: number,
    secrets: readonly string[],
    signal?: AbortSignal,
  ): Promise<RawResponse> => {
    if (connections.closed) throw closedError();
    const lease = connections.acquire(creds);
    try {
      return await requestOnce(target, creds, lease.agent, deadline, errorBodyLimit(secrets), signal);
    } finally {
      lease.release();
    }
  };

  return {
    url,
    async fetchPods(signal?: AbortSignal): Promise<string> {
      // One fetch, including a retry after a 401, gets `timeoutMs` in all.
      const deadline = performance.now() + timeoutMs;
      if (connections.closed) throw closedError();
      let creds = store ? await store.current() : null;
      const secrets = secretsOf(creds);
      try {
        let res = await request(creds, deadline, secrets, signal);
        if (res.status === 401 && store && await store.refreshToken()) {
          logger.info("Kubelet answered 401; retrying once with the re-read token", { url });
          creds = store.credentials;
          secrets.push(...secretsOf(creds));
          res = await request(creds, deadline, secrets, signal);
        }
        if (res.status !== 200) throw statusError(res, secrets, url);
        return decodePodsBody(res.body, url);
      } catch (err) {
        throw scrub(err, secrets);
      }
    },
    close(): void {
      connections.close();
    },
  };
}
