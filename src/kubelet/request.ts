/**
 * One `GET /pods` exchange with the kubelet, as named steps: {@linkcode sendPodsRequest} connects and sends
 * the request, {@linkcode bodyLimit} decides from the status how much body may be read,
 * {@linkcode readBoundedBody} reads it within that bound, and {@linkcode decodePodsBody} turns a 200 body into
 * text. {@linkcode requestOnce} runs the steps under the caller's signal and the fetch's deadline and settles
 * once; a response read to its end leaves its connection to the client's keep-alive agent, any other outcome
 * closes it. Every error names the URL and has reason `kubelet-unreachable` (no complete answer) or
 * `kubelet-bad-response` (a 200 that cannot be used), or `cancelled` when the caller aborts.
 *
 * @module
 */

import * as http from "node:http";
import * as https from "node:https";
import { isIP } from "node:net";
import * as tls from "node:tls";
import { onAbort, withTimeout } from "../core/abort.ts";
import { AttestorError, errorMessage, type ErrorReason } from "../errors.ts";
import { concatBytes } from "../io.ts";
import type { KubeletCredentials } from "./credentials.ts";
import { verifyChainToRoots } from "./tls_verify.ts";

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

/** What every request of one client shares. */
export interface PodsRequestTarget {
  /** Where to connect. */
  readonly endpoint: KubeletEndpoint;
  /** The TLS options for the current credentials (secure port only). */
  readonly tlsOptions: (creds: KubeletCredentials) => https.RequestOptions;
  /** The whole fetch's timeout, for the timeout message. */
  readonly timeoutMs: number;
  /** The cap on a 200 body. */
  readonly maxBodyBytes: number;
}

/** A status and the body read: all of it for a 200, at most the error-body limit otherwise. */
export interface RawResponse {
  /** The HTTP status (0 when the response had none). */
  readonly status: number;
  /** The body bytes read. */
  readonly body: Uint8Array;
}

/**
 * Settles one exchange: the first call wins. `reusable` is true only when the whole response was read, so
 * its connection may serve the next request.
 */
type Settle = (err: AttestorError | null, response?: RawResponse, reusable?: boolean) => void;

/**
 * Builds the TLS options of one request from the current credentials: the configured CA as the only trust
 * anchor and the node name (or hostname) as the required name, unless verification is skipped; the client
 * certificate and key in `client-certificate` mode.
 *
 * @param endpoint The endpoint (its node name decides how a name mismatch is worded).
 * @param creds The credentials of this request.
 * @param skipVerify `skip_kubelet_verification`.
 * @param expectedName The name the kubelet certificate must carry.
 * @returns Options to merge into `https.request`.
 */
export function tlsOptions(
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
        return new Error(`unable to verify the kubelet certificate: ${errorMessage(err)}`);
      }
    };
  }
  if (creds.authMode === "client-certificate") {
    options.cert = creds.certPem ?? undefined;
    options.key = creds.keyPem ?? undefined;
  }
  return options;
}

/**
 * Step 1, connect and send: sends `GET /pods` through `agent` (a kept-alive connection made with the same TLS
 * material, or a new one, verified as {@linkcode tlsOptions} says) with the bearer token when the
 * credentials have one; TLS on the secure port.
 *
 * @param target The endpoint and TLS options.
 * @param creds The credentials of this request (null on the read-only port).
 * @param agent The keep-alive agent of these credentials' TLS material (see `connections.ts`).
 * @param onResponse Receives the response.
 * @returns The request, already ended.
 * @throws {Error} When the request cannot be created (for example bad TLS material).
 */
export function sendPodsRequest(
  target: PodsRequestTarget,
  creds: KubeletCredentials | null,
  agent: http.Agent,
  onResponse: (res: http.IncomingMessage) => void,
): http.ClientRequest {
  const { endpoint } = target;
  const headers: Record<string, string> = { accept: "application/json" };
  if (creds?.authMode === "token" && creds.token) headers.authorization = `Bearer ${creds.token}`;
  const base: http.RequestOptions = {
    host: endpoint.host,
    port: endpoint.port,
    path: "/pods",
    method: "GET",
    agent,
    headers,
  };
  return endpoint.secure && creds
    ? https.request({ ...base, ...target.tlsOptions(creds) }, onResponse)
    : http.request(base, onResponse);
}

/**
 * Step 2, status handling: how many body bytes may be read. A 200 may have up to `maxBodyBytes` (a larger
 * `Content-Length` is refused before reading); any other status is read only up to `errorBodyLimit`, for the
 * error message.
 *
 * @param status The response status.
 * @param contentLength The `Content-Length` header, if any.
 * @param target The URL and the 200 cap.
 * @param errorBodyLimit The bytes read of a non-200 body.
 * @returns The limit, or the error for a declared length over the cap.
 */
export function bodyLimit(
  status: number,
  contentLength: string | undefined,
  target: PodsRequestTarget,
  errorBodyLimit: number,
): number | AttestorError {
  if (status !== 200) return errorBodyLimit;
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > target.maxBodyBytes) {
    return new AttestorError(
      "kubelet-bad-response",
      `unable to read pods response: ${target.endpoint.url}: body of ${declared} bytes exceeds the limit of ${target.maxBodyBytes} bytes`,
    );
  }
  return target.maxBodyBytes;
}

/**
 * Collects body chunks: into one buffer of the declared length when there is one within the limit (one copy,
 * no chunk list), else into a list joined at the end.
 */
class BodyBuffer {
  #buffer: Uint8Array | null;
  #chunks: Uint8Array[] = [];
  /** Bytes collected so far. */
  total = 0;

  constructor(declared: number, limit: number) {
    const fits = Number.isSafeInteger(declared) && declared > 0 && declared <= limit;
    this.#buffer = fits ? new Uint8Array(declared) : null;
  }

  push(chunk: Uint8Array): void {
    const buffer = this.#buffer;
    if (buffer !== null && this.total + chunk.length <= buffer.length) {
      buffer.set(chunk, this.total);
    } else {
      // More than declared (the parser does not let that happen): fall back to the list.
      if (buffer !== null) {
        this.#chunks.push(buffer.subarray(0, this.total));
        this.#buffer = null;
      }
      this.#chunks.push(chunk);
    }
    this.total += chunk.length;
  }

  bytes(): Uint8Array {
    const buffer = this.#buffer;
    if (buffer !== null) return this.total === buffer.length ? buffer : buffer.subarray(0, this.total);
    return this.#chunks.length === 1 ? this.#chunks[0] : concatBytes(this.#chunks, this.total);
  }
}

/**
 * Step 3, bounded body read: collects `res` in memory, never more than `limit` bytes. Past the limit the body
 * is cut there when `cut` (a non-200 body, shown only in part), else it is an error. A body that ends early
 * or a stream error is an error. `done` is called once; its `complete` is true when the body was read to its
 * end (the connection may then be reused).
 *
 * @param res The response.
 * @param limit The most bytes kept.
 * @param cut Whether a longer body is cut (true) or refused (false).
 * @param url For messages.
 * @param done Receives the error or the bytes.
 */
export function readBoundedBody(
  res: http.IncomingMessage,
  limit: number,
  cut: boolean,
  url: string,
  done: (err: AttestorError | null, body?: Uint8Array, complete?: boolean) => void,
): void {
  const body = new BodyBuffer(Number(res.headers["content-length"] ?? NaN), limit);
  let finished = false;
  const finish = (err: AttestorError | null, bytes?: Uint8Array, complete = false) => {
    if (finished) return;
    finished = true;
    done(err, bytes, complete);
  };
  const readError = (reason: ErrorReason, detail: string) =>
    new AttestorError(reason, `unable to read pods response: ${url}: ${detail}`);
  res.on("data", (chunk: Uint8Array) => {
    if (finished) return;
    if (body.total + chunk.length > limit) {
      if (cut) {
        body.push(chunk.subarray(0, limit - body.total));
        finish(null, body.bytes());
      } else {
        finish(readError("kubelet-bad-response", `body exceeds the limit of ${limit} bytes`));
      }
      return;
    }
    body.push(chunk);
  });
  res.on("end", () => {
    if (!res.complete) finish(readError("kubelet-unreachable", "body truncated"));
    else finish(null, body.bytes(), true);
  });
  res.on("aborted", () => finish(readError("kubelet-unreachable", "connection closed early")));
  res.on("error", (err: Error) => finish(readError("kubelet-unreachable", err.message)));
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const lenientDecoder = new TextDecoder("utf-8");

/**
 * Step 4, decode: the body of a 200 as UTF-8 text. Invalid UTF-8 is an error, never replaced: the body is
 * decoded by the fast replacing decoder, and only when the text holds U+FFFD (a replaced sequence, or a
 * U+FFFD the body really contains) is it decoded again by the strict one, which decides.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodePodsBody } from "./request.ts";
 * assert.equal(decodePodsBody(new TextEncoder().encode("{}"), "http://127.0.0.1:10255/pods"), "{}");
 * assert.throws(() => decodePodsBody(new Uint8Array([0xff]), "u"), /body is not valid UTF-8/);
 * ```
 *
 * @param body The bytes.
 * @param url For the message.
 * @returns The text.
 * @throws {AttestorError} `kubelet-bad-response` for invalid UTF-8.
 */
export function decodePodsBody(body: Uint8Array, url: string): string {
  const text = lenientDecoder.decode(body);
  if (!text.includes("\uFFFD")) return text;
  try {
    return decoder.decode(body);
  } catch {
    throw new AttestorError(
      "kubelet-bad-response",
      `unable to read pods response: ${url}: body is not valid UTF-8`,
    );
  }
}

/** Steps 2 and 3 for one response. */
function receive(
  res: http.IncomingMessage,
  target: PodsRequestTarget,
  errorBodyLimit: number,
  settle: Settle,
): void {
  const status = res.statusCode ?? 0;
  const limit = bodyLimit(status, res.headers["content-length"], target, errorBodyLimit);
  if (limit instanceof AttestorError) {
    settle(limit);
    return;
  }
  readBoundedBody(res, limit, status !== 200, target.endpoint.url, (err, body, complete) => {
    if (err) settle(err);
    else settle(null, { status, body: body! }, complete);
  });
}

/**
 * One request: steps 1 to 3 under the caller's `signal` and the fetch's `deadline` (one deadline covers a
 * retry after a 401 too). Settles once; a response read to its end leaves its connection in `agent`'s pool,
 * any other outcome (an error, a timeout, a cancellation, a body cut or refused) destroys it.
 *
 * @param target The endpoint, TLS options and limits.
 * @param creds The credentials of this request (null on the read-only port).
 * @param agent The keep-alive agent of these credentials' TLS material.
 * @param deadline When the fetch must be done (`performance.now()` time).
 * @param errorBodyLimit The bytes read of a non-200 body (the cut plus the redaction margin).
 * @param signal The caller's cancellation.
 * @returns The status and body.
 * @throws {AttestorError} `cancelled "kubelet request cancelled: <url>"` when `signal` aborts;
 * `kubelet-unreachable` for a timeout, a connection or TLS error; the body errors of {@linkcode bodyLimit}
 * and {@linkcode readBoundedBody}.
 */
export function requestOnce(
  target: PodsRequestTarget,
  creds: KubeletCredentials | null,
  agent: http.Agent,
  deadline: number,
  errorBodyLimit: number,
  signal?: AbortSignal,
): Promise<RawResponse> {
  const url = target.endpoint.url;
  const cancelled = () => new AttestorError("cancelled", `kubelet request cancelled: ${url}`);
  if (signal?.aborted) return Promise.reject(cancelled());
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    let req: http.ClientRequest | null = null;
    let stopWaiting = () => {};
    const settle: Settle = (err, response, reusable = false) => {
      if (settled) return;
      settled = true;
      stopWaiting();
      if (!reusable) req?.destroy();
      if (err) reject(err);
      else resolve(response!);
    };
    stopWaiting = onAbort(withTimeout(signal, deadline - performance.now()), () => {
      settle(
        signal?.aborted ? cancelled() : new AttestorError(
          "kubelet-unreachable",
          `unable to perform request: ${url}: timed out after ${target.timeoutMs} ms`,
        ),
      );
    });
    try {
      req = sendPodsRequest(target, creds, agent, (res) => receive(res, target, errorBodyLimit, settle));
    } catch (err) {
      settle(
        new AttestorError("kubelet-unreachable", `unable to create request: ${url}: ${errorMessage(err)}`),
      );
      return;
    }
    req.on("error", (err: Error) => {
      settle(
        new AttestorError("kubelet-unreachable", `unable to perform request: ${url}: ${err.message}`, {
          cause: err,
        }),
      );
    });
    req.end();
  });
}
