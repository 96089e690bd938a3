/**
 * A fake OCI registry for the faults a real one cannot produce, built like the fake kubelet (hono served by
 * `node:http`/`node:https` through `@hono/node-server`). It serves manifests and blobs from memory
 * (`GET /v2/<repo>/manifests/<ref>`, `GET /v2/<repo>/blobs/<digest>`), with anonymous, Basic or token auth
 * (its own token endpoint at `/token`, which checks the requested scope and issues tokens valid for one
 * repository), and injects faults per kind of request (a redirect comes after the auth check, as from a
 * registry that sends blobs to a CDN): delays, status codes, oversized or endless bodies,
 * wrong bytes (a digest mismatch), lying `Content-Length`, redirects, garbage JSON, custom challenges. It
 * records every request with its `Authorization` header.
 *
 * @module
 */

import { Hono } from "hono";
import { getRequestListener } from "@hono/node-server";
import * as http from "node:http";
import * as https from "node:https";
import { sha256Digest } from "../oci/registry.ts";
import { createSleeper, listenFakeServer } from "./fake_server.ts";

/** How the fake registry authenticates `/v2/…` requests. */
export type FakeRegistryAuth =
  | { readonly kind: "anonymous" }
  /** `Authorization: Basic` with these credentials; a 401 `Basic realm="fake"` challenge otherwise. */
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  /**
   * Bearer tokens from `/token` (or `realm` when set), valid for the one repository of their scope. The token
   * endpoint wants Basic `username`/`password` when given (401 otherwise) and answers `expires_in` when set.
   */
  | {
    readonly kind: "token";
    readonly service?: string;
    readonly username?: string;
    readonly password?: string;
    readonly expiresIn?: number;
    /** The realm URL, or a function of the base URL giving it. @default {`${baseUrl}/token`} */
    readonly realm?: string | ((baseUrl: string) => string);
    /** Answer the token in `access_token` instead of `token`. */
    readonly accessTokenField?: boolean;
  };

/** Which requests a fault applies to. */
export type FakeRegistryTarget = "manifests" | "blobs" | "token" | "ping";

/** A fault applied to the following requests of one kind until cleared. */
export interface FakeRegistryFault {
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Answer with this status, `body` (default empty) and `headers`. */
  readonly status?: number;
  /** The body sent with `status`. */
  readonly body?: string;
  /** Extra response headers (with `status`, or on a normal answer). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Answer 200 with this many filler bytes instead of the content. */
  readonly oversizeBytes?: number;
  /** Answer 200 with filler bytes that never end (until the client goes away). */
  readonly endless?: boolean;
  /** Serve the content with its last byte changed (a digest mismatch). */
  readonly wrongBytes?: boolean;
  /** Answer 307 to this base URL plus the request's path (and query). */
  readonly redirectTo?: string;
  /** Answer 200 with a body that is not JSON. */
  readonly garbage?: boolean;
  /** Answer 401 with this `WWW-Authenticate` value whatever the request carries (a 401 loop). */
  readonly challenge?: string;
}

/** What the fake registry saw of one request. */
export interface FakeRegistryRequest {
  /** Path. */
  readonly path: string;
  /** Query string (without `?`), or "". */
  readonly query: string;
  /** The `Authorization` header, or null. */
  readonly authorization: string | null;
  /** The `Accept` header, or null. */
  readonly accept: string | null;
  /** The status answered (0 when the answer was a stream cut short). */
  readonly status: number;
}

/** Options of {@linkcode startFakeRegistry}. */
export interface FakeRegistryOptions {
  /** Serve HTTPS with this certificate and key. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Authentication. @default {{ kind: "anonymous" }} */
  readonly auth?: FakeRegistryAuth;
  /** The address. @default {"127.0.0.1"} */
  readonly hostname?: string;
}

/** A running fake registry. */
export interface FakeRegistry extends AsyncDisposable {
  /** E.g. `http://127.0.0.1:40123`. */
  readonly baseUrl: string;
  /** The registry as references name it: `127.0.0.1:<port>`. */
  readonly host: string;
  /** Every request, oldest first. */
  readonly requests: readonly FakeRegistryRequest[];
  /** Tokens issued by `/token`, with their scope. */
  readonly issuedTokens: readonly { readonly token: string; readonly scope: string }[];
  /**
   * Stores a manifest under `reference` (and under its digest).
   *
   * @returns Its digest.
   */
  putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string>;
  /**
   * Stores a blob.
   *
   * @returns Its digest.
   */
  putBlob(repository: string, bytes: Uint8Array): Promise<string>;
  /** Makes every token issued so far invalid (as a token service that rotated its key). */
  revokeTokens(): void;
  /** Sets or clears (null) the fault of one kind of request. */
  setFault(target: FakeRegistryTarget, fault: FakeRegistryFault | null): void;
  /** Stops listening and closes every connection. Idempotent. */
  stop(): Promise<void>;
}

type Env = { Bindings: { incoming: http.IncomingMessage } };

const PATH = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;

/**
 * Starts a fake registry.
 *
 * @example
 * ```ts ignore
 * import { startFakeRegistry } from "./fake_registry.ts";
 * await using registry = await startFakeRegistry({ auth: { kind: "token" } });
 * const digest = await registry.putManifest("a/b", "v1", new TextEncoder().encode("{}"), "application/json");
 * registry.setFault("manifests", { wrongBytes: true });
 * ```
 *
 * @param options TLS, auth and address.
 * @returns The running fake.
 */
export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const auth = options.auth ?? { kind: "anonymous" };
  const manifests = new Map<string, { bytes: Uint8Array; mediaType: string; digest: string }>();
  const blobs = new Map<string, Uint8Array>();
  const faults = new Map<FakeRegistryTarget, FakeRegistryFault>();
  const requests: FakeRegistryRequest[] = [];
  const issuedTokens: { token: string; scope: string }[] = [];
  const revoked = new Set<string>();
  const sleeper = createSleeper();
  const sleep = sleeper.sleep;
  let baseUrl = "";

  const basicOk = (authorization: string | null, username: string, password: string) =>
    authorization === `Basic ${btoa(`${username}:${password}`)}`;

  const challengeFor = (repository: string): string => {
    if (auth.kind === "basic") return 'Basic realm="fake"';
    if (auth.kind !== "token") return "";
    const realm = typeof auth.realm === "function" ? auth.realm(baseUrl) : auth.realm ?? `${baseUrl}/token`;
    const service = auth.service ?? "fake-registry";
    return `Bearer realm="${realm}",service="${service}",scope="repository:${repository}:pull"`;
  };

  const app = new Hono<Env>();

  app.all("*", async (c) => {
    const url = new URL(c.req.url);
    const incoming = c.env.incoming;
    const authorization = incoming.headers.authorization ?? null;
    const accept = typeof incoming.headers.accept === "string" ? incoming.headers.accept : null;
    const path = url.pathname;
    const entry = { path, query: url.search.slice(1), authorization, accept, status: 0 };
    requests.push(entry);
    const answer = (response: Response) => {
      entry.status = response.status;
      return response;
    };

    const match = PATH.exec(path);
    const target: FakeRegistryTarget | null = path === "/token"
      ? "token"
      : path === "/v2/" || path === "/v2"
      ? "ping"
      : match
      ? match[2] as FakeRegistryTarget
      : null;
    if (target === null) return answer(new Response("not found\n", { status: 404 }));
    const fault = faults.get(target);
    if (fault?.delayMs) await sleep(fault.delayMs);
    const redirect = () =>
      answer(
        new Response(null, {
          status: 307,
          headers: { location: `${fault!.redirectTo}${path}${url.search}` },
        }),
      );
    if (target === "token" && fault?.redirectTo) return redirect();
    if (fault?.challenge !== undefined) {
      return answer(
        new Response("unauthorized\n", { status: 401, headers: { "www-authenticate": fault.challenge } }),
      );
    }
    if (fault?.status !== undefined) {
      return answer(new Response(fault.body ?? "", { status: fault.status, headers: { ...fault.headers } }));
    }
    if (fault?.garbage) {
      return answer(
        new Response("{this is not json", { status: 200, headers: { "content-type": "application/json" } }),
      );
    }
    if (fault?.oversizeBytes !== undefined) {
      return answer(new Response(new Uint8Array(fault.oversizeBytes).fill(0x61), { status: 200 }));
    }
    if (fault?.endless) {
      const chunk = new Uint8Array(64 * 1024).fill(0x62);
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(chunk);
        },
      });
      return answer(new Response(stream, { status: 200 }));
    }

    if (target === "token") {
      if (auth.kind !== "token") return answer(new Response("no token service\n", { status: 404 }));
      if (auth.username !== undefined && !basicOk(authorization, auth.username, auth.password ?? "")) {
        return answer(new Response("bad credentials\n", { status: 401 }));
      }
      const scope = url.searchParams.get("scope") ?? "";
      if (!/^repository:[a-z0-9._\/-]+:pull$/.test(scope)) {
        return answer(new Response("bad scope\n", { status: 400 }));
      }
      if (url.searchParams.get("service") !== (auth.service ?? "fake-registry")) {
        return answer(new Response("bad service\n", { status: 400 }));
      }
      const token = `tok-${issuedTokens.length + 1}-${crypto.randomUUID()}`;
      issuedTokens.push({ token, scope });
      const body: Record<string, unknown> = auth.accessTokenField ? { access_token: token } : { token };
      if (auth.expiresIn !== undefined) body.expires_in = auth.expiresIn;
      return answer(Response.json(body, { headers: { ...fault?.headers } }));
    }

    const repository = match ? match[1] : "";
    if (auth.kind === "basic" && !basicOk(authorization, auth.username, auth.password)) {
      return answer(
        new Response("unauthorized\n", {
          status: 401,
          headers: { "www-authenticate": challengeFor(repository) },
        }),
      );
    }
    if (auth.kind === "token") {
      const granted = issuedTokens.find((t) =>
        authorization === `Bearer ${t.token}` && !revoked.has(t.token)
      );
      if (granted === undefined || (match && granted.scope !== `repository:${repository}:pull`)) {
        return answer(
          new Response("unauthorized\n", {
            status: 401,
            headers: { "www-authenticate": challengeFor(repository) },
          }),
        );
      }
    }
    // A registry authorises first, then redirects (to a CDN or an object store).
    if (fault?.redirectTo) return redirect();
    if (target === "ping") return answer(Response.json({}));

    const reference = match![3];
    let bytes: Uint8Array | undefined;
    const headers: Record<string, string> = { ...fault?.headers };
    if (target === "manifests") {
      const m = manifests.get(`${repository}@${reference}`);
      if (m) {
        bytes = m.bytes;
        headers["content-type"] ??= m.mediaType;
        headers["docker-content-digest"] ??= m.digest;
      }
    } else {
      bytes = blobs.get(`${repository}@${reference}`);
      headers["content-type"] ??= "application/octet-stream";
    }
    if (bytes === undefined) {
      const code = target === "manifests" ? "MANIFEST_UNKNOWN" : "BLOB_UNKNOWN";
      return answer(Response.json({ errors: [{ code, message: "unknown" }] }, { status: 404 }));
    }
    if (fault?.wrongBytes) {
      bytes = bytes.slice();
      bytes[bytes.length - 1] ^= 0xff;
      delete headers["docker-content-digest"];
    }
    return answer(new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers }));
  });

  const listener = getRequestListener((req, env) => app.fetch(req, env));
  const server: http.Server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : http.createServer(listener);
  const listening = await listenFakeServer(server, { hostname: options.hostname, sleeper });
  const host = listening.hostPort;
  baseUrl = `${options.tls ? "https" : "http"}://${host}`;

  const stop = listening.stop;

  return {
    baseUrl,
    host,
    get requests() {
      return requests;
    },
    get issuedTokens() {
      return issuedTokens;
    },
    async putManifest(repository, reference, bytes, mediaType) {
      const digest = await sha256Digest(bytes);
      const value = { bytes: bytes.slice(), mediaType, digest };
      manifests.set(`${repository}@${reference}`, value);
      manifests.set(`${repository}@${digest}`, value);
      return digest;
    },
    async putBlob(repository, bytes) {
      const digest = await sha256Digest(bytes);
      blobs.set(`${repository}@${digest}`, bytes.slice());
      return digest;
    },
    revokeTokens() {
      for (const t of issuedTokens) revoked.add(t.token);
    },
    setFault(target, fault) {
      if (fault === null) faults.delete(target);
      else faults.set(target, fault);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
