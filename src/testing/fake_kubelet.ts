/**
 * A fake kubelet for tests and the demo, built on hono and served by `node:http`/`node:https` through
 * `@hono/node-server` (Deno.serve has no client-certificate options). It serves `GET /pods` from a pod list
 * that can be replaced at runtime, over plain HTTP or TLS, with bearer-token auth (re-reading its token file
 * on every request), client-certificate auth or no auth, and can inject faults (status codes, delays,
 * truncated bodies, garbage JSON). It counts and records requests and the connections they came on.
 *
 * @module
 */

import { Hono } from "hono";
import { getRequestListener } from "@hono/node-server";
import * as http from "node:http";
import * as https from "node:https";
import type { TLSSocket } from "node:tls";
import { createSleeper, listenFakeServer } from "./fake_server.ts";

/** How the fake kubelet authenticates requests to `/pods`. */
export type FakeKubeletAuth =
  | { readonly kind: "anonymous" }
  /** `Authorization: Bearer <token>` where the token is the trimmed content of `tokenPath`, read per request. */
  | { readonly kind: "token"; readonly tokenPath: string }
  /** A client certificate issued by `tls.clientCa` (checked during the handshake). */
  | { readonly kind: "client-cert" };

/** TLS settings; without them the fake kubelet speaks plain HTTP. */
export interface FakeKubeletTls {
  /** Server certificate PEM (chain). */
  readonly cert: string;
  /** Server private key PEM. */
  readonly key: string;
  /** CA PEM that client certificates must chain to. Required for `client-cert` auth. */
  readonly clientCa?: string;
}

/** A fault applied to every following `/pods` request until cleared. */
export interface FakeKubeletFault {
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Answer with this status code (and `body`, default `"fault injected\n"`). */
  readonly status?: number;
  /**
   * The body sent with `status`, or a function of the request's `Authorization` header (null when absent)
   * that builds it, to echo credentials back as a careless kubelet or proxy might.
   */
  readonly body?: string | ((authorization: string | null) => string);
  /** Send the first half of the pod list and then break the connection. */
  readonly truncate?: boolean;
  /** Answer 200 with a body that is not JSON. */
  readonly garbage?: boolean;
}

/** Options of {@linkcode startFakeKubelet}. */
export interface FakeKubeletOptions {
  /** TLS material; plain HTTP when absent. */
  readonly tls?: FakeKubeletTls;
  /** Authentication. @default {{ kind: "anonymous" }} */
  readonly auth?: FakeKubeletAuth;
  /** The pod list served (any JSON value). @default {{ kind: "PodList", apiVersion: "v1", items: [] }} */
  readonly pods?: unknown;
  /** The address to listen on. @default {"127.0.0.1"} */
  readonly hostname?: string;
  /** The port. @default {0} (any free port) */
  readonly port?: number;
}

/** What the fake kubelet saw of one request. */
export interface FakeKubeletRequest {
  /** Request path. */
  readonly path: string;
  /** The `Authorization` header, or null. */
  readonly authorization: string | null;
  /** The verified client certificate's subject CN, or null. */
  readonly clientCertCn: string | null;
  /** The status code answered. */
  readonly status: number;
  /** The connection the request came on: 1 for the first one accepted, 2 for the next, and so on. */
  readonly connection: number;
}

/** A running fake kubelet. */
export interface FakeKubelet extends AsyncDisposable {
  /** Base URL, e.g. `https://127.0.0.1:40123`. */
  readonly baseUrl: string;
  /** The port it listens on. */
  readonly port: number;
  /** Number of `/pods` requests received, counted on arrival (including rejected and faulted ones). */
  readonly requestCount: number;
  /** Every request, oldest first. */
  readonly requests: readonly FakeKubeletRequest[];
  /** Connections accepted so far (for TLS, those whose handshake succeeded). */
  readonly connectionCount: number;
  /** Connections accepted and not closed yet. */
  readonly openConnections: number;
  /** Replaces the served pod list with `pods` serialised as JSON. */
  setPods(pods: unknown): void;
  /** Replaces the served body with raw text (served as `application/json`). */
  setPodsBody(body: string): void;
  /** Sets or clears (null) the injected fault. */
  setFault(fault: FakeKubeletFault | null): void;
  /** Stops listening, closes every connection and cancels pending delays. Idempotent. */
  stop(): Promise<void>;
}

type Env = { Bindings: { incoming: http.IncomingMessage } };

const DEFAULT_PODS = { kind: "PodList", apiVersion: "v1", metadata: {}, items: [] };

/**
 * Starts a fake kubelet.
 *
 * @example Plain HTTP, like the read-only port
 * ```ts ignore
 * import { startFakeKubelet } from "./fake_kubelet.ts";
 * await using kubelet = await startFakeKubelet({ pods: { items: [] } });
 * const res = await fetch(`${kubelet.baseUrl}/pods`);
 * console.log(res.status, await res.text(), kubelet.requestCount);
 * ```
 *
 * @param options TLS, auth, initial pods and address.
 * @returns The running server.
 */
export async function startFakeKubelet(options: FakeKubeletOptions = {}): Promise<FakeKubelet> {
  const auth = options.auth ?? { kind: "anonymous" };
  if (auth.kind === "client-cert" && !options.tls?.clientCa) {
    throw new RangeError("Cannot start fake kubelet as client-cert auth needs 'tls.clientCa'");
  }
  let body = JSON.stringify(options.pods ?? DEFAULT_PODS);
  let fault: FakeKubeletFault | null = null;
  const requests: FakeKubeletRequest[] = [];
  let received = 0;
  let connectionCount = 0;
  let openConnections = 0;
  const connectionIds = new WeakMap<object, number>();
  const sleeper = createSleeper();
  const sleep = sleeper.sleep;

  const app = new Hono<Env>();
  app.get("/pods", async (c) => {
    received++;
    const incoming = c.env.incoming;
    const authorization = incoming.headers.authorization ?? null;
    const socket = incoming.socket as TLSSocket;
    let clientCertCn: string | null = null;
    if (options.tls && socket.authorized) {
      const cn = socket.getPeerCertificate?.()?.subject?.CN;
      clientCertCn = typeof cn === "string" ? cn : null;
    }
    const connection = connectionIds.get(incoming.socket) ?? 0;
    const record = (status: number) => {
      requests.push({ path: "/pods", authorization, clientCertCn, status, connection });
    };

    const current = fault;
    if (current?.delayMs) await sleep(current.delayMs);

    if (auth.kind === "token") {
      let expected = "";
      try {
        expected = (await Deno.readTextFile(auth.tokenPath)).trim();
      } catch {
        expected = "";
      }
      if (expected === "" || authorization !== `Bearer ${expected}`) {
        record(401);
        return c.text("Unauthorized\n", 401);
      }
    } else if (auth.kind === "client-cert" && clientCertCn === null) {
      record(401);
      return c.text("Unauthorized\n", 401);
    }

    if (current?.status !== undefined) {
      record(current.status);
      const text = typeof current.body === "function" ? current.body(authorization) : current.body;
      return c.text(text ?? "fault injected\n", current.status as 400);
    }
    if (current?.garbage) {
      record(200);
      return c.body("{this is not json", 200, { "content-type": "application/json" });
    }
    if (current?.truncate) {
      record(200);
      const bytes = new TextEncoder().encode(body);
      const half = bytes.subarray(0, Math.max(1, Math.floor(bytes.length / 2)));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(half);
        },
        pull(controller) {
          // Cut the connection mid-body, as a crashing kubelet would.
          incoming.socket.destroy();
          controller.close();
        },
      });
      return c.body(stream, 200, { "content-type": "application/json" });
    }
    record(200);
    return c.body(body, 200, { "content-type": "application/json" });
  });

  const listener = getRequestListener((req, env) => app.fetch(req, env));
  const server: http.Server = options.tls
    ? https.createServer({
      cert: options.tls.cert,
      key: options.tls.key,
      ...(options.tls.clientCa
        ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: auth.kind === "client-cert" }
        : {}),
    }, listener)
    : http.createServer(listener);

  const listening = await listenFakeServer(server, {
    hostname: options.hostname,
    port: options.port,
    sleeper,
  });
  server.on(options.tls ? "secureConnection" : "connection", (socket: http.IncomingMessage["socket"]) => {
    connectionIds.set(socket, ++connectionCount);
    openConnections++;
    socket.once("close", () => openConnections--);
  });

  const { address } = listening;
  const baseUrl = `${options.tls ? "https" : "http"}://${listening.hostPort}`;

  const stop = listening.stop;

  return {
    baseUrl,
    port: address.port,
    get requestCount() {
      return received;
    },
    get requests() {
      return requests;
    },
    get connectionCount() {
      return connectionCount;
    },
    get openConnections() {
      return openConnections;
    },
    setPods(pods) {
      body = JSON.stringify(pods);
    },
    setPodsBody(raw) {
      body = raw;
    },
    setFault(f) {
      fault = f;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
