/**
 * The HTTP layer of the registry client: which URLs may be contacted (HTTPS; plain HTTP only on loopback),
 * where a registry is served, and one GET with manual redirects, a per-request time limit, the caller's
 * cancellation and bounded bodies.
 *
 * Scheme rule. go-containerregistry (`pkg/name/registry.go`, `Registry.Scheme()`) uses plain HTTP for
 * `localhost:<port>`, `*.localhost`, `127.0.0.1`, `::1` and every RFC 1918 address (10/8, 172.16/12,
 * 192.168/16), and its transport then tries HTTPS first with HTTP as a fallback. This client is stricter:
 * plain HTTP only for a loopback host (`localhost`, any `127.0.0.0/8` address, `[::1]`, with any port),
 * and for those it goes straight to HTTP; every other registry is HTTPS only, with no fallback. Private
 * addresses are not trusted to be on the node, so a network attacker cannot downgrade a registry there.
 *
 * Redirects are followed by hand (at most {@linkcode MAX_REDIRECTS}): each target must itself be HTTPS or
 * loopback HTTP, an HTTPS→HTTP step is refused, and the `Authorization` header is dropped for good once a
 * redirect leaves the first origin (registries send blobs to a CDN or an object store). URLs in messages
 * have no query (pre-signed URLs carry secrets there) and no user info.
 *
 * @module
 */

import { AttestorError } from "../errors.ts";
import { abortError, withTimeout } from "../core/abort.ts";
import { FileTooLargeError, readBoundedStream } from "../io.ts";
import { DOCKER_HUB } from "./docker_config.ts";

/** The most redirects followed for one request. */
export const MAX_REDIRECTS = 5;

/** Where Docker Hub's API is served (as go-containerregistry: `index.docker.io` is not an API host). */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const REGISTRY_HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::([0-9]{1,5}))?$`);

/**
 * Whether a URL host name (as `URL.hostname` gives it, already normalised) is loopback: `localhost`, an
 * address in `127.0.0.0/8`, or `[::1]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLoopbackHostname } from "./http.ts";
 * assert.equal(isLoopbackHostname("127.3.2.1"), true);
 * assert.equal(isLoopbackHostname(new URL("http://[0:0::1]:5000").hostname), true);
 * assert.equal(isLoopbackHostname("10.0.0.1"), false);
 * assert.equal(isLoopbackHostname("localhost.example.com"), false);
 * ```
 *
 * @param hostname The host name.
 * @returns True for loopback.
 */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Whether the client may contact `url` at all: HTTPS anywhere, plain HTTP only on a loopback host, no user
 * info.
 *
 * @param url The URL.
 * @returns True when allowed.
 */
export function isAllowedUrl(url: URL): boolean {
  if (url.username !== "" || url.password !== "") return false;
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && isLoopbackHostname(url.hostname);
}

/**
 * The base URL of a registry's API: `http://` for a loopback registry, `https://` otherwise; Docker Hub
 * (`index.docker.io`, `docker.io`) at {@linkcode DOCKER_HUB_API_HOST}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { registryBaseUrl } from "./http.ts";
 * assert.equal(registryBaseUrl("127.0.0.1:5000")?.href, "http://127.0.0.1:5000/");
 * assert.equal(registryBaseUrl("ghcr.io")?.href, "https://ghcr.io/");
 * assert.equal(registryBaseUrl("index.docker.io")?.href, "https://registry-1.docker.io/");
 * assert.equal(registryBaseUrl("evil.io/path"), null);
 * ```
 *
 * @param registry A host with optional port.
 * @returns The URL, or null when `registry` is not a host with optional port.
 */
export function registryBaseUrl(registry: string): URL | null {
  const match = REGISTRY_HOST.exec(registry);
  if (match === null) return null;
  if (match[1] !== undefined && (Number(match[1]) < 1 || Number(match[1]) > 65535)) return null;
  const lower = registry.toLowerCase();
  const host = lower === DOCKER_HUB || lower === "docker.io" ? DOCKER_HUB_API_HOST : lower;
  let url: URL;
  try {
    url = new URL(`http://${host}/`);
  } catch {
    return null;
  }
  if (!isLoopbackHostname(url.hostname)) url = new URL(`https://${host}/`);
  return url;
}

/**
 * A URL as messages show it: origin and path, without query and user info.
 *
 * @param url The URL.
 * @returns The text.
 */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Removes the query of every URL in a text (a fetch error quotes the whole URL). */
function withoutQueries(text: string): string {
  return text.replace(/(\bhttps?:\/\/[^\s?#)]*)[?#][^\s)]*/g, "$1");
}

/** The settings of one exchange (a request and the reading of its body). */
export interface ExchangeSettings {
  /** The fetch to use. */
  readonly fetch: typeof fetch;
  /** The HTTP client with extra CA certificates, if any. */
  readonly client?: Deno.HttpClient;
  /** The time limit of the exchange, milliseconds (redirects and body included). */
  readonly timeoutMs: number;
  /** The caller's cancellation. */
  readonly signal?: AbortSignal;
  /** Builds the error of this step from a problem text (the caller names registry, repository, step). */
  readonly fail: (problem: string, cause?: unknown) => AttestorError;
}

/** A response after redirects. */
export interface ExchangeResponse {
  /** The final response (a non-redirect status). */
  readonly response: Response;
  /** Its URL. */
  readonly url: URL;
  /** Whether a redirect left the origin of the first URL (the `Authorization` header was then dropped). */
  readonly crossOrigin: boolean;
}

/** One exchange: a GET with redirects, then reads of the body, all under one time limit. */
export interface Exchange {
  /**
   * Sends `GET url`, following redirects by hand.
   *
   * @param url The first URL (must be allowed, see {@linkcode isAllowedUrl}).
   * @param headers Request headers (no `Authorization`).
   * @param authorization The `Authorization` value, sent only to the first URL's origin; null for none.
   */
  get(url: URL, headers: Record<string, string>, authorization: string | null): Promise<ExchangeResponse>;
  /**
   * Reads a body of at most `maxBytes` bytes (cancels the stream past it).
   *
   * @param response The response.
   * @param maxBytes The limit.
   * @param what Names the body in the error (`manifest`, `blob`, `token response`).
   */
  read(response: Response, maxBytes: number, what: string): Promise<Uint8Array>;
  /** Cancels a body that will not be read. */
  discard(response: Response): Promise<void>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Starts one exchange: every error it raises is `settings.fail(problem)` (`registry-failed`), except an
 * abort of the caller's signal, which is `cancelled` or `deadline-exceeded` as {@linkcode abortError} says.
 * The time limit (`timed out after <n> ms`) starts now.
 *
 * @example
 * ```ts ignore
 * const exchange = startExchange({ fetch, timeoutMs: 10_000, fail: (p) => new AttestorError("registry-failed", p) });
 * const { response } = await exchange.get(new URL("http://127.0.0.1:5000/v2/"), {}, null);
 * const body = await exchange.read(response, 1024, "ping");
 * ```
 *
 * @param settings The fetch, limits, signal and error builder.
 * @returns The exchange.
 */
export function startExchange(settings: ExchangeSettings): Exchange {
  const signal = withTimeout(settings.signal, settings.timeoutMs);
  const mapError = (err: unknown, doing: string): AttestorError => {
    if (settings.signal?.aborted) return abortError(settings.signal);
    if (signal.aborted) return settings.fail(`timed out after ${settings.timeoutMs} ms`, err);
    if (err instanceof AttestorError) return err;
    const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return settings.fail(`${doing}: ${withoutQueries(text)}`, err);
  };
  const send = async (url: URL, headers: Headers): Promise<Response> => {
    if (signal.aborted) throw mapError(signal.reason, "request failed");
    try {
      const init: RequestInit & { client?: Deno.HttpClient } = { headers, redirect: "manual", signal };
      if (settings.client) init.client = settings.client;
      return await settings.fetch(url, init);
    } catch (err) {
      throw mapError(err, `request to ${describeUrl(url)} failed`);
    }
  };
  const discard = async (response: Response) => {
    try {
      await response.body?.cancel();
    } catch {
      // nothing to clean up
    }
  };
  return {
    async get(first, extra, authorization) {
      if (!isAllowedUrl(first)) throw settings.fail(`refusing to contact ${describeUrl(first)}`);
      let url = first;
      let crossOrigin = false;
      for (let hop = 0;; hop++) {
        const headers = new Headers(extra);
        if (authorization !== null && !crossOrigin) headers.set("authorization", authorization);
        const response = await send(url, headers);
        if (!REDIRECT_STATUSES.has(response.status)) return { response, url, crossOrigin };
        await discard(response);
        if (hop >= MAX_REDIRECTS) throw settings.fail(`too many redirects (more than ${MAX_REDIRECTS})`);
        const location = response.headers.get("location");
        if (location === null) throw settings.fail(`redirect ${response.status} without a Location`);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw settings.fail(`redirect ${response.status} to an invalid URL`);
        }
        if (url.protocol === "https:" && next.protocol !== "https:") {
          throw settings.fail(`refusing a redirect from HTTPS to ${describeUrl(next)}`);
        }
        if (!isAllowedUrl(next)) throw settings.fail(`refusing a redirect to ${describeUrl(next)}`);
        if (next.origin !== first.origin) crossOrigin = true;
        url = next;
      }
    },
    async read(response, maxBytes, what) {
      // Content-Length counts encoded bytes: a fast refusal only for an unencoded body (the bounded read
      // below is the real limit either way).
      const length = response.headers.get("content-encoding") === null
        ? response.headers.get("content-length")
        : null;
      if (length !== null && /^\d+$/.test(length) && Number(length) > maxBytes) {
        await discard(response);
        throw settings.fail(`${what} is larger than ${maxBytes} bytes (Content-Length ${length})`);
      }
      try {
        return await readBoundedStream(response.body, maxBytes);
      } catch (err) {
        if (err instanceof FileTooLargeError) throw settings.fail(`${what} is larger than ${maxBytes} bytes`);
        throw mapError(err, `reading the ${what} failed`);
      }
    },
    discard,
  };
}
