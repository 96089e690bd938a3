/**
 * The kept-alive connections of one kubelet client: a `node:http`/`node:https` agent with keep-alive, so a
 * cold Attest does not pay a new TCP connection (and, on the secure port, a new TLS handshake) per request.
 *
 * A connection never outlives what authenticated it: the agent belongs to one set of TLS material (the CA
 * bundle, the client certificate and key). When a credential reload changes any of them, the next request
 * gets a new agent, so its connection is verified against the new CA and presents the new certificate; the
 * old agent's connections are closed as soon as no request uses them. A bearer token is sent with every
 * request, so a new token needs no new connection. {@linkcode KubeletConnections.close} closes every
 * connection, idle or busy (the client is closed when its configuration is replaced or the plugin stops).
 * An idle connection is closed after {@linkcode IDLE_CONNECTION_TIMEOUT_MS}; a kubelet that closes an idle
 * connection itself is handled by the `node:http` client, which sends the request again on a new connection
 * when a reused one closes before any answer (a `GET`, so this is safe).
 *
 * @module
 */

import * as http from "node:http";
import * as https from "node:https";
import type { KubeletCredentials } from "./credentials.ts";

/** How long an idle kept-alive connection is kept: below the idle timeouts of Go servers (the kubelet's is 90 s). */
export const IDLE_CONNECTION_TIMEOUT_MS = 30_000;

/** One agent and the TLS material its connections were made with. */
interface Pool {
  readonly agent: http.Agent;
  readonly caPem: string | null;
  readonly certPem: string | null;
  readonly keyPem: string | null;
  /** Requests using the agent now. */
  active: number;
  /** Replaced by a newer pool: closed when `active` reaches 0. */
  retired: boolean;
}

/** A lease of an agent for one request; {@linkcode AgentLease.release} once the request has settled. */
export interface AgentLease {
  /** The agent to pass to `http.request`/`https.request`. */
  readonly agent: http.Agent;
  /** Ends the lease (idempotent). */
  release(): void;
}

/** Options of {@linkcode KubeletConnections}. */
export interface KubeletConnectionsOptions {
  /** True for the secure port (an `https.Agent`). */
  readonly secure: boolean;
  /** Idle time after which a kept-alive connection is closed. @default {IDLE_CONNECTION_TIMEOUT_MS} */
  readonly idleTimeoutMs?: number;
}

/**
 * The keep-alive agents of one kubelet client (see the module documentation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeletConnections } from "./connections.ts";
 * const connections = new KubeletConnections({ secure: false });
 * const lease = connections.acquire(null);
 * assert.equal(connections.acquire(null).agent, lease.agent); // the same pool for the same material
 * lease.release();
 * connections.close();
 * assert.throws(() => connections.acquire(null), /closed/);
 * ```
 */
export class KubeletConnections {
  #secure: boolean;
  #idleTimeoutMs: number;
  #current: Pool | null = null;
  #retired = new Set<Pool>();
  #closed = false;

  /** @param options The port kind and the idle timeout. */
  constructor(options: KubeletConnectionsOptions) {
    this.#secure = options.secure;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? IDLE_CONNECTION_TIMEOUT_MS;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Leases the agent for a request with `creds` (null on the read-only port): the current one when its TLS
   * material is the same, else a new one (the old one is closed once its requests have settled).
   *
   * @param creds The request's credentials.
   * @returns The lease.
   * @throws {Error} After {@linkcode close}.
   */
  acquire(creds: KubeletCredentials | null): AgentLease {
    if (this.#closed) throw new Error("the kubelet client is closed");
    let pool = this.#current;
    const caPem = creds?.caPem ?? null;
    const certPem = creds?.certPem ?? null;
    const keyPem = creds?.keyPem ?? null;
    if (pool === null || pool.caPem !== caPem || pool.certPem !== certPem || pool.keyPem !== keyPem) {
      if (pool !== null) this.#retire(pool);
      pool = { agent: this.#newAgent(), caPem, certPem, keyPem, active: 0, retired: false };
      this.#current = pool;
    }
    pool.active++;
    let released = false;
    const leased = pool;
    return {
      agent: leased.agent,
      release: () => {
        if (released) return;
        released = true;
        leased.active--;
        if (leased.retired && leased.active === 0) this.#destroy(leased);
      },
    };
  }

  /** Closes every connection, idle or in use; later {@linkcode acquire} calls throw. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#current !== null) this.#destroy(this.#current);
    this.#current = null;
    for (const pool of this.#retired) this.#destroy(pool);
  }

  #newAgent(): http.Agent {
    const options = {
      keepAlive: true,
      maxFreeSockets: 1,
      timeout: this.#idleTimeoutMs,
      scheduling: "lifo" as const,
    };
    return this.#secure ? new https.Agent(options) : new http.Agent(options);
  }

  #retire(pool: Pool): void {
    pool.retired = true;
    if (pool.active === 0) this.#destroy(pool);
    else this.#retired.add(pool);
  }

  #destroy(pool: Pool): void {
    this.#retired.delete(pool);
    pool.agent.destroy();
  }
}
