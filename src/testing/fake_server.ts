/**
 * What the fake HTTP servers of the tests (kubelet, API server, registry) share: delays that end at once when
 * the server stops, and the listen / stop lifecycle of a `node:http(s)` server (a failing TLS handshake or a
 * bad request never crashes the test process; stop closes every connection).
 *
 * @module
 */

import type * as http from "node:http";
import type { AddressInfo } from "node:net";

/** Delays that the server's stop cuts short. */
export interface Sleeper {
  /** Resolves after `ms`, or at once when {@linkcode Sleeper.wakeAll} runs. */
  sleep(ms: number): Promise<void>;
  /** Ends every pending delay now. */
  wakeAll(): void;
}

/**
 * A {@linkcode Sleeper}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSleeper } from "./fake_server.ts";
 * const sleeper = createSleeper();
 * const t = performance.now();
 * const pending = sleeper.sleep(60_000);
 * sleeper.wakeAll();
 * await pending;
 * assert.ok(performance.now() - t < 1000);
 * ```
 *
 * @returns The sleeper.
 */
export function createSleeper(): Sleeper {
  const timers = new Map<ReturnType<typeof setTimeout>, () => void>();
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const id = setTimeout(() => {
          timers.delete(id);
          resolve();
        }, ms);
        timers.set(id, resolve);
      }),
    wakeAll: () => {
      for (const [id, resolve] of timers) {
        clearTimeout(id);
        resolve();
      }
      timers.clear();
    },
  };
}

/** A listening fake server. */
export interface ListeningServer {
  /** The bound address. */
  readonly address: AddressInfo;
  /** `host:port` (IPv6 in brackets). */
  readonly hostPort: string;
  /** Wakes the sleeper, closes the server and every connection. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Listens `server` on `hostname:port` and gives its address and an idempotent stop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as http from "node:http";
 * import { createSleeper, listenFakeServer } from "./fake_server.ts";
 * const server = http.createServer((_req, res) => res.end("ok"));
 * const listening = await listenFakeServer(server, { sleeper: createSleeper() });
 * assert.equal(await (await fetch(`http://${listening.hostPort}/`)).text(), "ok");
 * await listening.stop();
 * ```
 *
 * @param server The `node:http` or `node:https` server.
 * @param options Where to listen (default `127.0.0.1`, any port) and the sleeper to wake on stop.
 * @returns The address and the stop.
 */
export async function listenFakeServer(
  server: http.Server,
  options: { readonly hostname?: string; readonly port?: number; readonly sleeper: Sleeper },
): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.hostname ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  // A failing TLS handshake (wrong client cert) or a malformed request must not crash the process.
  server.on("tlsClientError", () => {});
  server.on("clientError", (_err, socket) => socket.destroy());
  const address = server.address() as AddressInfo;
  const hostPort = address.family === "IPv6"
    ? `[${address.address}]:${address.port}`
    : `${address.address}:${address.port}`;
  let stopped: Promise<void> | null = null;
  return {
    address,
    hostPort,
    stop: () => {
      stopped ??= (async () => {
        options.sleeper.wakeAll();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      })();
      return stopped;
    },
  };
}
