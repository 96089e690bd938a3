/**
 * A small Kubernetes API server client: JSON `GET` and `POST` over HTTPS with the pod's in-cluster
 * credentials, nothing else (no watch, no discovery cache, no kubeconfig). It is what namespace labels
 * and reference attestation need, and it is loaded only by them (dynamic import), so an agent that uses
 * neither pays nothing for it.
 *
 * Guarantees:
 * - TLS is verified against the in-cluster CA file only (Deno's bundled roots are not trusted: the chain
 *   must reach a certificate of `ca.crt`), and the certificate must name `KUBERNETES_SERVICE_HOST`.
 * - The token and CA are re-read when older than `credentialTtlMs` (1 minute by default, client-go's
 *   token-file refresh period), and once more at once after a 401 (a rotated token).
 * - Every request is bounded in time (`timeoutMs`, the caller's signal) and size (`maxBodyBytes`; an error
 *   body is read only in part), and uses a new connection (`agent: false`).
 * - Errors name the method, the path and what went wrong, never the token: an error body is shown only
 *   in part, with the token redacted.
 *
 * @module
 */

import * as https from "node:https";
import { isIP } from "node:net";
import * as tls from "node:tls";
import type { X509Certificate } from "node:crypto";
import { abortError, onAbort, withTimeout } from "../core/abort.ts";
import { AttestorError, errorMessage } from "../errors.ts";
import { concatBytes, readSmallTextFile } from "../io.ts";
import { parseCaBundle } from "../kubelet/credentials.ts";
import { redactSecrets } from "../kubelet/redact.ts";
import { verifyChainToRoots } from "../kubelet/tls_verify.ts";
import { clipText } from "../clip.ts";
import type { InClusterLocation } from "./in_cluster.ts";

/** The default bound of one request, connection to last byte, in milliseconds. */
export const DEFAULT_APISERVER_TIMEOUT_MS = 10_000;
/** The default cap on a successful answer's body (a cluster-wide metadata list fits comfortably). */
export const DEFAULT_APISERVER_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** The default age after which the token and CA files are read again. */
export const DEFAULT_CREDENTIAL_TTL_MS = 60_000;
/** How much of an error body is read, for its message. */
const ERROR_BODY_BYTES = 4096;
/** How much of an error's message is shown. */
const ERROR_ECHO_BYTES = 512;

/** Options of {@linkcode createApiServerClient}. */
export interface ApiServerClientOptions {
  /** Where the API server is and which files hold the token and CA. */
  readonly location: InClusterLocation;
  /** The bound of one request. @default {DEFAULT_APISERVER_TIMEOUT_MS} */
  readonly timeoutMs?: number;
  /** The cap on a successful answer's body. @default {DEFAULT_APISERVER_MAX_BODY_BYTES} */
  readonly maxBodyBytes?: number;
  /** How long the token and CA read from disk are used. @default {DEFAULT_CREDENTIAL_TTL_MS} */
  readonly credentialTtlMs?: number;
  /** Monotonic milliseconds, for the credential cache. @default {performance.now} */
  readonly now?: () => number;
}

/** One answer: 200 or 201 with its JSON body, or 404 (`json` null). */
export interface ApiResponse {
  /** 200, 201 or 404. */
  readonly status: 200 | 201 | 404;
  /** The parsed body of a 200/201; null for a 404. */
  readonly json: unknown;
}

/** What a request may add. */
export interface RequestOptions {
  /** The `Accept` header. @default {"application/json"} */
  readonly accept?: string;
  /** The caller's cancellation and deadline. */
  readonly signal?: AbortSignal;
}

/** The client. */
export interface ApiServerClient {
  /** `https://<host>:<port>`. */
  readonly baseUrl: string;
  /**
   * `GET path` (a path with its query, starting with `/`).
   * @throws {AttestorError} `apiserver-failed` for anything but 200 and 404; `cancelled` or
   * `deadline-exceeded` when the caller's signal aborts.
   */
  get(path: string, options?: RequestOptions): Promise<ApiResponse>;
  /** `POST path` with a JSON body; as {@linkcode ApiServerClient.get}. */
  post(path: string, body: unknown, options?: RequestOptions): Promise<ApiResponse>;
}

interface Credentials {
  readonly token: string;
  readonly caPem: string;
  readonly caCerts: readonly X509Certificate[];
  readonly readAt: number;
}

interface RawAnswer {
  readonly status: number;
  readonly body: Uint8Array;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The `message` of a Kubernetes `Status` body, else the body's text; clipped, the token redacted. */
function errorDetail(body: Uint8Array, token: string): string {
  const text = new TextDecoder().decode(body);
  let detail = text.trim();
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && typeof parsed.message === "string") detail = parsed.message;
  } catch {
    // not JSON: the text as it is
  }
  const redacted = token === "" ? detail : redactSecrets(detail, [token]);
  return clipText(redacted.replace(/[\r\n]+/g, " "), ERROR_ECHO_BYTES);
}

/**
 * Creates the client. Nothing is read or connected until the first request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createApiServerClient } from "./client.ts";
 * import { inClusterLocation } from "./in_cluster.ts";
 * const env: Record<string, string> = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: "1" };
 * const dir = await Deno.makeTempDir();
 * const client = createApiServerClient({ location: inClusterLocation({ getenv: (n) => env[n], serviceAccountDir: dir }) });
 * assert.equal(client.baseUrl, "https://127.0.0.1:1");
 * await assert.rejects(client.get("/api/v1/namespaces/default"), {
 *   reason: "apiserver-failed",
 *   message: /^GET \/api\/v1\/namespaces\/default: unable to read the service account token/,
 * });
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param options Location, bounds and clock.
 * @returns The client.
 */
export function createApiServerClient(options: ApiServerClientOptions): ApiServerClient {
  const { location } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_APISERVER_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_APISERVER_MAX_BODY_BYTES;
  const ttlMs = options.credentialTtlMs ?? DEFAULT_CREDENTIAL_TTL_MS;
  const now = options.now ?? (() => performance.now());
  let cached: Credentials | null = null;
  let loading: Promise<Credentials> | null = null;

  async function readCredentials(what: string): Promise<Credentials> {
    let token: string;
    try {
      token = (await readSmallTextFile(location.tokenPath)).trim();
    } catch (err) {
      throw new AttestorError(
        "apiserver-failed",
        `${what}: unable to read the service account token ${location.tokenPath}: ${errorMessage(err)}`,
      );
    }
    if (token === "") {
      throw new AttestorError(
        "apiserver-failed",
        `${what}: the service account token ${location.tokenPath} is empty`,
      );
    }
    let caPem: string;
    let caCerts: X509Certificate[];
    try {
      ({ pem: caPem, certs: caCerts } = parseCaBundle(await readSmallTextFile(location.caPath)));
    } catch (err) {
      throw new AttestorError(
        "apiserver-failed",
        `${what}: unable to load the cluster CA ${location.caPath}: ${errorMessage(err)}`,
      );
    }
    return { token, caPem, caCerts, readAt: now() };
  }

  /** The credentials, read again when older than the TTL or when `fresh`; concurrent callers share a read. */
  async function credentials(what: string, fresh: boolean): Promise<Credentials> {
    if (!fresh && cached !== null && now() - cached.readAt < ttlMs) return cached;
    if (loading === null) {
      loading = readCredentials(what).finally(() => loading = null);
    }
    cached = await loading;
    return cached;
  }

  function tlsOptions(creds: Credentials): https.RequestOptions {
    const host = location.host;
    return {
      servername: isIP(host) === 0 ? host : undefined,
      rejectUnauthorized: true,
      ca: creds.caPem,
      // Must return (never throw) an Error: a throwing checkServerIdentity crashes Deno.
      checkServerIdentity: (_name, cert) => {
        try {
          const chain = verifyChainToRoots(cert, creds.caCerts, new Date(), "API server", location.caPath);
          if (chain !== null) return new Error(chain);
          const nameErr = tls.checkServerIdentity(host, cert);
          if (nameErr) {
            return new Error(`API server certificate is not valid for "${host}": ${nameErr.message}`);
          }
          return undefined;
        } catch (err) {
          return new Error(`unable to verify the API server certificate: ${errorMessage(err)}`);
        }
      },
    };
  }

  function exchange(
    method: "GET" | "POST",
    path: string,
    payload: Uint8Array | null,
    creds: Credentials,
    what: string,
    accept: string,
    signal: AbortSignal | undefined,
  ): Promise<RawAnswer> {
    return new Promise<RawAnswer>((resolve, reject) => {
      let settled = false;
      let req: ReturnType<typeof https.request> | null = null;
      let stop = () => {};
      const settle = (err: Error | null, answer?: RawAnswer) => {
        if (settled) return;
        settled = true;
        stop();
        req?.destroy();
        if (err) reject(err);
        else resolve(answer!);
      };
      const fail = (detail: string) => settle(new AttestorError("apiserver-failed", `${what}: ${detail}`));
      const bounded = withTimeout(signal, timeoutMs);
      if (bounded.aborted) {
        settle(
          signal?.aborted ? abortError(signal) : new AttestorError("apiserver-failed", `${what}: timed out`),
        );
        return;
      }
      stop = onAbort(bounded, () => {
        if (signal?.aborted) settle(abortError(signal));
        else fail(`timed out after ${timeoutMs} ms`);
      });
      const headers: Record<string, string> = {
        accept,
        authorization: `Bearer ${creds.token}`,
        "user-agent": "k8s-attestor",
      };
      if (payload !== null) {
        headers["content-type"] = "application/json";
        headers["content-length"] = String(payload.length);
      }
      try {
        req = https.request(
          {
            host: location.host,
            port: location.port,
            path,
            method,
            agent: false,
            headers,
            ...tlsOptions(creds),
          },
          (res) => {
            const status = res.statusCode ?? 0;
            const ok = status === 200 || status === 201;
            const limit = ok ? maxBodyBytes : ERROR_BODY_BYTES;
            const declared = Number(res.headers["content-length"]);
            if (ok && Number.isFinite(declared) && declared > maxBodyBytes) {
              fail(`answer of ${declared} bytes exceeds the limit of ${maxBodyBytes} bytes`);
              return;
            }
            const chunks: Uint8Array[] = [];
            let total = 0;
            res.on("data", (chunk: Uint8Array) => {
              if (settled) return;
              if (total + chunk.length > limit) {
                if (!ok) {
                  chunks.push(chunk.subarray(0, limit - total));
                  settle(null, { status, body: concatBytes(chunks, limit) });
                } else fail(`answer exceeds the limit of ${maxBodyBytes} bytes`);
                return;
              }
              chunks.push(chunk);
              total += chunk.length;
            });
            res.on("end", () => {
              if (!res.complete) fail("connection closed before the answer was complete");
              else settle(null, { status, body: concatBytes(chunks, total) });
            });
            res.on("aborted", () => fail("connection closed before the answer was complete"));
            res.on("error", (err: Error) => fail(err.message));
          },
        );
      } catch (err) {
        fail(`unable to create the request: ${errorMessage(err)}`);
        return;
      }
      req.on("error", (err: Error) => fail(err.message));
      req.end(payload ?? undefined);
    });
  }

  async function request(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    options: RequestOptions,
  ): Promise<ApiResponse> {
    const what = `${method} ${path}`;
    if (!path.startsWith("/")) throw new AttestorError("internal", `${what}: the path must start with "/"`);
    const payload = body === undefined ? null : new TextEncoder().encode(JSON.stringify(body));
    const accept = options.accept ?? "application/json";
    let creds = await credentials(what, false);
    let answer = await exchange(method, path, payload, creds, what, accept, options.signal);
    if (answer.status === 401) {
      // A rotated token: read the files again at once and retry once.
      creds = await credentials(what, true);
      answer = await exchange(method, path, payload, creds, what, accept, options.signal);
    }
    const { status } = answer;
    if (status === 404) return { status, json: null };
    if (status !== 200 && status !== 201) {
      throw new AttestorError(
        "apiserver-failed",
        `${what}: the API server answered ${status}: ${errorDetail(answer.body, creds.token)}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(answer.body));
    } catch {
      throw new AttestorError("apiserver-failed", `${what}: the answer is not JSON`);
    }
    return { status, json };
  }

  return {
    baseUrl: location.baseUrl,
    get: (path, options = {}) => request("GET", path, undefined, options),
    post: (path, body, options = {}) => request("POST", path, body, options),
  };
}
