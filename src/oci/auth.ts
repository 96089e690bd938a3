/**
 * Registry authentication (the Docker token protocol, as the docker CLI and go-containerregistry speak it):
 * a request goes out anonymously; a 401 carries a `WWW-Authenticate` challenge, answered here.
 *
 * - `Bearer realm=…,service=…`: `GET <realm>?service=<service>&scope=repository:<repo>:pull`, with the
 *   registry's Basic credentials when the docker config has some (anonymous otherwise), and the `token` (or
 *   `access_token`) of the JSON answer is sent as `Authorization: Bearer`. The challenge's own `scope` is
 *   ignored: the client asks for pull access to the repository it reads, never more.
 * - `Basic`: the registry's credentials, or an error when there are none.
 *
 * The answer is cached per (registry, scope) for the token's `expires_in` (default 60 s, as the token
 * specification says); Basic answers for 60 s too. A cached value the registry refuses is dropped.
 *
 * Where credentials go. A registry's credentials are sent to that registry's API host (Basic challenge)
 * and to the token realm that registry names (Bearer challenge; Docker Hub's realm is `auth.docker.io`), and
 * nowhere else: never across a redirect to another origin (the HTTP layer drops `Authorization`), never
 * to a realm over plain HTTP unless both the registry and the realm are loopback, and never to a realm that
 * is an IP literal in a loopback, private, link-local or unspecified range unless it is the registry's own
 * host (go-containerregistry's rule against realms aimed at node-local services such as a cloud metadata
 * endpoint). Credentials and tokens never appear in messages or logs.
 *
 * @module
 */

import type { AttestorError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type AuthChallenge, ChallengeSyntaxError, parseWwwAuthenticate } from "./challenge.ts";
import type { RegistryCredentials } from "./docker_config.ts";
import { describeUrl, type Exchange, isLoopbackHostname } from "./http.ts";

/** How long a token is cached when the answer has no `expires_in`, seconds (the token specification's default). */
export const DEFAULT_TOKEN_TTL_SECONDS = 60;

/** The longest a token is cached, seconds, whatever `expires_in` says. */
export const MAX_TOKEN_TTL_SECONDS = 3600;

/** The largest token endpoint answer read, bytes. */
export const MAX_TOKEN_RESPONSE_BYTES = 256 * 1024;

/** The most (registry, scope) answers cached; the oldest goes first. */
export const MAX_CACHED_AUTHORIZATIONS = 256;

/** What the authenticator needs from the client. */
export interface AuthenticatorDeps {
  /** The credentials for a registry (configured ones, else the docker config's), or null. */
  readonly credentials: (registry: string) => Promise<RegistryCredentials | null>;
  /** Starts an exchange for the token request (its own time limit); errors name the step. */
  readonly exchange: () => Exchange;
  /** Builds the error of the current step. */
  readonly fail: (problem: string, cause?: unknown) => AttestorError;
  /** Debug lines (never a secret). */
  readonly logger: Logger;
}

/** Answers registry challenges and caches the answers. */
export interface Authenticator {
  /**
   * The cached `Authorization` value for (registry, scope), or null.
   *
   * @param registry The registry.
   * @param scope The scope, e.g. `repository:library/nginx:pull`.
   */
  cached(registry: string, scope: string): string | null;
  /**
   * Drops the cached value for (registry, scope) (the registry refused it).
   *
   * @param registry The registry.
   * @param scope The scope.
   */
  forget(registry: string, scope: string): void;
  /**
   * Answers the challenge of a 401 and caches the answer.
   *
   * @param registry The registry (for credentials and the cache).
   * @param apiUrl The URL that answered 401 (its host is the registry's API host).
   * @param scope The scope to ask for.
   * @param header The `WWW-Authenticate` value, or null when absent.
   * @param deps Credentials, exchange, error builder and logger of this call.
   * @returns The `Authorization` value to retry with.
   */
  respond(
    registry: string,
    apiUrl: URL,
    scope: string,
    header: string | null,
    deps: AuthenticatorDeps,
  ): Promise<string>;
}

interface CacheEntry {
  readonly value: string;
  readonly expiresAt: number;
}

/**
 * Whether a URL host name is an IP literal in a loopback, private, link-local, carrier-grade NAT or
 * unspecified range (IPv4-mapped IPv6 addresses count as such too).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isNonPublicIpLiteral } from "./auth.ts";
 * assert.equal(isNonPublicIpLiteral("169.254.169.254"), true);
 * assert.equal(isNonPublicIpLiteral("[fd00:ec2::254]"), true);
 * assert.equal(isNonPublicIpLiteral("8.8.8.8"), false);
 * assert.equal(isNonPublicIpLiteral("auth.docker.io"), false);
 * ```
 *
 * @param hostname A `URL.hostname` (IPv6 in brackets).
 * @returns True for such an address.
 */
export function isNonPublicIpLiteral(hostname: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (!hostname.startsWith("[")) return false;
  const v6 = hostname.slice(1, -1).toLowerCase();
  return v6 === "::" || v6 === "::1" || v6.startsWith("::ffff:") || /^fe[89ab]/.test(v6) || /^f[cd]/.test(v6);
}

function basicValue(creds: RegistryCredentials): string {
  const bytes = new TextEncoder().encode(`${creds.username}:${creds.password}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

function pickChallenge(challenges: readonly AuthChallenge[]): AuthChallenge | null {
  return challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic") ??
    null;
}

const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/**
 * Creates an authenticator with an empty cache (one per registry client).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAuthenticator } from "./auth.ts";
 * const auth = createAuthenticator();
 * assert.equal(auth.cached("ghcr.io", "repository:a/b:pull"), null);
 * ```
 *
 * @param now The clock of the cache, milliseconds. @default {Date.now}
 * @returns The authenticator.
 */
export function createAuthenticator(now: () => number = Date.now): Authenticator {
  const cache = new Map<string, CacheEntry>();
  const keyOf = (registry: string, scope: string) => `${registry.toLowerCase()} ${scope}`;
  const store = (key: string, value: string, ttlSeconds: number) => {
    cache.delete(key);
    while (cache.size >= MAX_CACHED_AUTHORIZATIONS) cache.delete(cache.keys().next().value!);
    cache.set(key, { value, expiresAt: now() + ttlSeconds * 1000 });
  };

  return {
    cached(registry, scope) {
      const key = keyOf(registry, scope);
      const entry = cache.get(key);
      if (entry === undefined) return null;
      if (now() >= entry.expiresAt) {
        cache.delete(key);
        return null;
      }
      return entry.value;
    },
    forget(registry, scope) {
      cache.delete(keyOf(registry, scope));
    },
    async respond(registry, apiUrl, scope, header, deps) {
      const { fail } = deps;
      if (header === null) throw fail("401 Unauthorized without a WWW-Authenticate challenge");
      let challenges: AuthChallenge[];
      try {
        challenges = parseWwwAuthenticate(header);
      } catch (err) {
        if (err instanceof ChallengeSyntaxError) {
          throw fail(`malformed WWW-Authenticate header: ${err.message}`);
        }
        throw err;
      }
      const challenge = pickChallenge(challenges);
      if (challenge === null) {
        const schemes = [...new Set(challenges.map((c) => c.scheme))].join(", ");
        throw fail(`401 Unauthorized with unsupported auth scheme(s): ${schemes}`);
      }
      const key = keyOf(registry, scope);
      if (challenge.scheme === "basic") {
        const creds = await deps.credentials(registry);
        if (creds === null) {
          throw fail(
            "the registry asks for Basic credentials and none are configured for it (registry_credentials or " +
              "the docker config)",
          );
        }
        const value = basicValue(creds);
        store(key, value, DEFAULT_TOKEN_TTL_SECONDS);
        deps.logger.debug("Registry asks for Basic credentials", { registry, scope });
        return value;
      }
      const realmText = challenge.params.get("realm");
      if (realmText === undefined || realmText === "") throw fail("Bearer challenge without a realm");
      let realm: URL;
      try {
        realm = new URL(realmText);
      } catch {
        throw fail("Bearer challenge with a realm that is not a URL");
      }
      const registryLoopback = isLoopbackHostname(apiUrl.hostname);
      if (realm.username !== "" || realm.password !== "") throw fail("Bearer realm with user info refused");
      if (realm.protocol === "http:") {
        if (!(registryLoopback && isLoopbackHostname(realm.hostname))) {
          throw fail(`Bearer realm over plain HTTP refused: ${describeUrl(realm)}`);
        }
      } else if (realm.protocol !== "https:") {
        throw fail(`Bearer realm with scheme ${realm.protocol} refused`);
      }
      if (!registryLoopback && realm.host !== apiUrl.host && isNonPublicIpLiteral(realm.hostname)) {
        throw fail(`Bearer realm at a non-public address refused: ${describeUrl(realm)}`);
      }
      const service = challenge.params.get("service");
      if (service !== undefined) realm.searchParams.set("service", service);
      realm.searchParams.set("scope", scope);

      const creds = await deps.credentials(registry);
      const exchange = deps.exchange();
      const { response } = await exchange.get(
        realm,
        { accept: "application/json" },
        creds === null ? null : basicValue(creds),
      );
      if (response.status !== 200) {
        await exchange.discard(response);
        throw fail(`token endpoint ${describeUrl(realm)} answered ${response.status}`);
      }
      const body = await exchange.read(response, MAX_TOKEN_RESPONSE_BYTES, "token response");
      let doc: unknown;
      try {
        doc = JSON.parse(new TextDecoder().decode(body));
      } catch {
        throw fail(`token endpoint ${describeUrl(realm)} answered with a body that is not JSON`);
      }
      const answer = typeof doc === "object" && doc !== null ? doc as Record<string, unknown> : {};
      const token = typeof answer.token === "string" && answer.token !== ""
        ? answer.token
        : typeof answer.access_token === "string" && answer.access_token !== ""
        ? answer.access_token
        : null;
      if (token === null) throw fail(`token endpoint ${describeUrl(realm)} answered without a token`);
      if (!TOKEN_CHARS.test(token)) {
        throw fail(`token endpoint ${describeUrl(realm)} answered with a token that is not printable ASCII`);
      }
      const expiresIn = typeof answer.expires_in === "number" && Number.isFinite(answer.expires_in) &&
          answer.expires_in > 0
        ? Math.min(answer.expires_in, MAX_TOKEN_TTL_SECONDS)
        : DEFAULT_TOKEN_TTL_SECONDS;
      const value = `Bearer ${token}`;
      store(key, value, expiresIn);
      deps.logger.debug("Registry token obtained", {
        registry,
        scope,
        realm: describeUrl(realm),
        expires_in_s: expiresIn,
        with_credentials: creds !== null,
      });
      return value;
    },
  };
}
