/**
 * The kubelet HTTP(S) client: builds the `/pods` URL from the configuration, verifies the kubelet's TLS
 * certificate (against the configured CA only, and the node name or the machine's hostname), authenticates
 * (anonymous, client certificate or bearer token), and returns the response body as text. Every request uses
 * its own connection (`agent: false`), so the certificate check runs on every request and nothing is pooled.
 * No process-wide TLS setting is ever touched.
 *
 * @module
 */

import * as http from "node:http";
import * as https from "node:https";
import { isIP } from "node:net";
import { hostname as osHostname } from "node:os";
import * as tls from "node:tls";
import type { Config } from "../config/types.ts";
import { AttestorError } from "../errors.ts";
import { type Logger, nullLogger } from "../log.ts";
import { CredentialStore, type KubeletCredentials, loadKubeletCredentials } from "./credentials.ts";
import { verifyChainToRoots } from "./tls_verify.ts";
import { redactedPrefix, redactionMargin, redactSecrets } from "./redact.ts";
import { concatBytes, readSmallTextFile } from "../io.ts";

/** Default request timeout: 10 s, as upstream. */
export const DEFAULT_KUBELET_TIMEOUT_MS = 10_000;
/** Default cap on the `/pods` body: 64 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/**
 * How much of a non-200 body goes into the error. More is read (see {@linkcode redactionMargin}) so that
 * secrets are removed before the cut.
 */
const STATUS_BODY_BYTES = 1024;

/** Where and how the client connects, derived from the configuration. */
export interface KubeletEndpoint {
  /** The full URL, e.g. `https://node-1:10250/pods`. */
  readonly url: string;
  /** True for the secure port. */
  readonly secure: boolean;
  /** The host connected to (no brackets). */
  readonly host: string;
  /** The port. */
  readonly port: number;
  /** The node name the certificate must match, or "" (127.0.0.1 without a node name, or read-only port). */
  readonly nodeName: string;
}

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
   * @param signal Aborts the request (error code `CANCELLED`).
   * @throws {AttestorError} `UNAVAILABLE` for connection, TLS, status, timeout, size and read errors; the
   * message names the URL. For a non-200 answer it shows at most the first KiB of the body, after every
   * secret the request used (the bearer token, also the one before a 401 retry, and the client key) was
   * removed from the whole body read, in raw, percent-encoded and JSON-escaped forms; every other message
   * is scrubbed the same way.
   */
  fetchPods(signal?: AbortSignal): Promise<string>;
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
  return message === err.message ? err : new AttestorError(err.code, message);
}

/** Builds the TLS options of one request from the current credentials. */
function tlsOptions(
  endpoint: KubeletEndpoint,
  creds: KubeletCredentials,
  skipVerify: boolean,
  expectedName: string,
): https.RequestOptions {
  const options: https.RequestOptions = {};
  const sniName = isIP(expectedName) === 0 && expectedName !== "" ? expectedName : undefined;
  if (sniName) options.servername = sniName;
  if (skipVerify) {
    options.rejectUnauthorized = false;
  } else {
    options.rejectUnauthorized = true;
    options.ca = creds.caPem ?? undefined;
    const roots = creds.caCerts;
    // Must return (never throw) an Error: a throwing checkServerIdentity crashes Deno.
    options.checkServerIdentity = (_host, cert) => {
      try {
        const chain = verifyChainToRoots(cert, roots, new Date());
        if (chain !== null) return new Error(chain);
        const nameErr = tls.checkServerIdentity(expectedName, cert);
        if (nameErr) {
          const which = endpoint.nodeName !== "" ? "node name" : "hostname";
          return new Error(
            `kubelet certificate is not valid for ${which} "${expectedName}": ${nameErr.message}`,
          );
        }
        return undefined;
      } catch (err) {
        return new Error(
          `unable to verify the kubelet certificate: ${err instanceof Error ? err.message : err}`,
        );
      }
    };
  }
  if (creds.authMode === "client-certificate") {
    options.cert = creds.certPem ?? undefined;
    options.key = creds.keyPem ?? undefined;
  }
  return options;
}

interface RawResponse {
  status: number;
  body: Uint8Array;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Creates a kubelet client, loading the credential files at once (upstream's Configure-time errors, code
 * `INVALID_ARGUMENT`). In read-only-port mode no file is read and TLS/auth settings are ignored. With
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
 * @throws {AttestorError} `INVALID_ARGUMENT` with upstream's credential error texts.
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

  let store: CredentialStore | null = null;
  let expectedName = "";
  if (endpoint.secure) {
    const initial = await loadKubeletCredentials(config, { resolvePath, readFile });
    store = new CredentialStore({ config, initial, logger, now, resolvePath, readFile });
    expectedName = endpoint.nodeName !== "" ? endpoint.nodeName : (options.hostname ?? osHostname());
    if (config.skipKubeletVerification) {
      logger.warn(
        "Kubelet certificate verification is disabled (skip_kubelet_verification); the kubelet's identity is not checked",
        {
          url,
        },
      );
    } else if (expectedName === "") {
      throw new AttestorError(
        "INVALID_ARGUMENT",
        "unable to determine the machine's hostname to verify the kubelet certificate; set node_name",
      );
    }
  }

  // One fetch, including a retry after a 401, gets `timeoutMs` in all: `deadline` is when it started plus that.
  // A non-200 body is read up to `errorBodyLimit` bytes (the cut plus the redaction margin).
  const requestOnce = (
    creds: KubeletCredentials | null,
    deadline: number,
    errorBodyLimit: number,
    signal?: AbortSignal,
  ): Promise<RawResponse> => {
    return new Promise<RawResponse>((resolve, reject) => {
      const cancelled = () => new AttestorError("CANCELLED", `kubelet request cancelled: ${url}`);
      if (signal?.aborted) {
        reject(cancelled());
        return;
      }
      let settled = false;
      let req: http.ClientRequest | null = null;
      const timer = setTimeout(() => {
        finish(
          new AttestorError(
            "UNAVAILABLE",
            `unable to perform request: ${url}: timed out after ${timeoutMs} ms`,
          ),
        );
      }, Math.max(0, deadline - performance.now()));
      const onAbort = () => finish(cancelled());
      signal?.addEventListener("abort", onAbort, { once: true });
      function finish(err: AttestorError | null, value?: RawResponse): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        req?.destroy();
        if (err) reject(err);
        else resolve(value!);
      }

      const headers: Record<string, string> = { accept: "application/json" };
      if (creds?.authMode === "token" && creds.token) headers.authorization = `Bearer ${creds.token}`;
      const base: http.RequestOptions = {
        host: endpoint.host,
        port: endpoint.port,
        path: "/pods",
        method: "GET",
        agent: false,
        headers,
      };
      const onResponse = (res: http.IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const limit = status === 200 ? maxBodyBytes : errorBodyLimit;
        const declared = Number(res.headers["content-length"]);
        if (status === 200 && Number.isFinite(declared) && declared > maxBodyBytes) {
          finish(
            new AttestorError(
              "UNAVAILABLE",
              `unable to read pods response: ${url}: body of ${declared} bytes exceeds the limit of ${maxBodyBytes} bytes`,
            ),
          );
          return;
        }
        const chunks: Uint8Array[] = [];
        let total = 0;
        res.on("data", (chunk: Uint8Array) => {
          if (settled) return;
          if (total + chunk.length > limit) {
            if (status !== 200) {
              chunks.push(chunk.subarray(0, limit - total));
              total = limit;
              finish(null, { status, body: concatBytes(chunks, total) });
              return;
            }
            finish(
              new AttestorError(
                "UNAVAILABLE",
                `unable to read pods response: ${url}: body exceeds the limit of ${maxBodyBytes} bytes`,
              ),
            );
            return;
          }
          chunks.push(chunk);
          total += chunk.length;
        });
        res.on("end", () => {
          if (!res.complete) {
            finish(new AttestorError("UNAVAILABLE", `unable to read pods response: ${url}: body truncated`));
            return;
          }
          finish(null, { status, body: concatBytes(chunks, total) });
        });
        res.on("aborted", () => {
          finish(
            new AttestorError("UNAVAILABLE", `unable to read pods response: ${url}: connection closed early`),
          );
        });
        res.on("error", (err: Error) => {
          finish(new AttestorError("UNAVAILABLE", `unable to read pods response: ${url}: ${err.message}`));
        });
      };
      try {
        req = endpoint.secure && creds
          ? https.request(
            { ...base, ...tlsOptions(endpoint, creds, config.skipKubeletVerification, expectedName) },
            onResponse,
          )
          : http.request(base, onResponse);
      } catch (err) {
        finish(
          new AttestorError(
            "UNAVAILABLE",
            `unable to create request: ${url}: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
        return;
      }
      req.on("error", (err: Error) => {
        finish(
          new AttestorError("UNAVAILABLE", `unable to perform request: ${url}: ${err.message}`, {
            cause: err,
          }),
        );
      });
      req.end();
    });
  };

  const statusError = (res: RawResponse, secrets: readonly string[]): AttestorError => {
    const text = redactedPrefix(res.body, secrets, STATUS_BODY_BYTES).trimEnd();
    return new AttestorError(
      "UNAVAILABLE",
      `unexpected status code on pods response: ${res.status} ${text} (GET ${url})`,
    );
  };

  return {
    url,
    async fetchPods(signal?: AbortSignal): Promise<string> {
      const deadline = performance.now() + timeoutMs;
      let creds = store ? await store.current() : null;
      const secrets = secretsOf(creds);
      try {
        let res = await requestOnce(creds, deadline, STATUS_BODY_BYTES + redactionMargin(secrets), signal);
        if (res.status === 401 && store && await store.refreshToken()) {
          logger.info("Kubelet answered 401; retrying once with the re-read token", { url });
          creds = store.credentials;
          secrets.push(...secretsOf(creds));
          res = await requestOnce(creds, deadline, STATUS_BODY_BYTES + redactionMargin(secrets), signal);
        }
        if (res.status !== 200) throw statusError(res, secrets);
        try {
          return decoder.decode(res.body);
        } catch {
          throw new AttestorError(
            "UNAVAILABLE",
            `unable to read pods response: ${url}: body is not valid UTF-8`,
          );
        }
      } catch (err) {
        throw scrub(err, secrets);
      }
    },
  };
}
