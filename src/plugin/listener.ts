/**
 * The go-plugin listener: where the host connects after reading the handshake line.
 *
 * - `unix`: a socket named `plugin<random>` inside a fresh private (0700) directory created under
 *   `PLUGIN_UNIX_SOCKET_DIR`, else `TMPDIR`, else `/tmp`. With `PLUGIN_UNIX_SOCKET_GROUP` (a group name or
 *   gid) the socket gets that group and mode 0660, and the directory that group and mode 0710, so members
 *   of the group can connect, as go-plugin allows.
 * - `tcp`: `127.0.0.1`, the first free port from `PLUGIN_MIN_PORT` to `PLUGIN_MAX_PORT` (both default to
 *   0, which means an ephemeral port), exactly like go-plugin's `serverListener_tcp`.
 *
 * Connections are accepted with `node:net` and handed to the caller (the gRPC server's connection
 * injector), which lets the process notice when the host connection goes away.
 *
 * @module
 */

import * as net from "node:net";
import { join } from "node:path";
import { AttestorError } from "../errors.ts";
import type { Logger } from "../log.ts";

/** How the listener is announced in the handshake line. */
export type Transport = "unix" | "tcp";

/** Options of {@linkcode listen}. */
export interface ListenOptions {
  /** `unix` (Linux, macOS) or `tcp` (Windows, or forced). */
  readonly transport: Transport;
  /** Reads an environment variable (`PLUGIN_*`, `TMPDIR`). */
  readonly getenv: (name: string) => string | undefined;
  /** Receives every accepted connection. */
  readonly onConnection: (socket: net.Socket) => void;
  /** Called with the number of open connections each time a connection opens or closes. */
  readonly onConnectionCountChange?: (open: number) => void;
  /** Diagnostics. */
  readonly logger: Logger;
}

/** A listening endpoint. */
export interface PluginListener {
  /** The handshake network field. */
  readonly network: Transport;
  /** The handshake address field: an absolute socket path, or `127.0.0.1:<port>`. */
  readonly address: string;
  /** The private directory holding the socket (`null` for tcp). */
  readonly socketDir: string | null;
  /** Stops accepting, destroys open connections and removes the socket and its directory. Idempotent. */
  close(): Promise<void>;
}

/** Linux `sun_path` holds 108 bytes including the terminating NUL; macOS 104. Stay under both. */
const MAX_SOCKET_PATH_BYTES = 103;

function randomDigits(): string {
  const [n] = crypto.getRandomValues(new Uint32Array(1));
  return String(n);
}

/**
 * Parses `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT` the way go-plugin does: empty means 0, anything else must be
 * a decimal integer, and min must not exceed max.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { portRange } from "./listener.ts";
 * const env: Record<string, string> = { PLUGIN_MIN_PORT: "10000", PLUGIN_MAX_PORT: "10002" };
 * assert.equal(portRange((n) => env[n]).max, 10002);
 * ```
 *
 * @param getenv Reads an environment variable.
 * @returns The inclusive port range.
 * @throws {AttestorError} `bad-config` for a malformed value, a value outside 0..65535, or min > max.
 */
export function portRange(getenv: (name: string) => string | undefined): { min: number; max: number } {
  const read = (name: string): number => {
    const raw = getenv(name) ?? "";
    if (raw === "") return 0;
    if (!/^[+-]?\d+$/.test(raw)) {
      throw new AttestorError("bad-config", `${name} must be a decimal port number, got "${raw}"`);
    }
    const value = Number(raw);
    if (value < 0 || value > 65535) {
      throw new AttestorError("bad-config", `${name} must be between 0 and 65535, got ${value}`);
    }
    return value;
  };
  const min = read("PLUGIN_MIN_PORT");
  const max = read("PLUGIN_MAX_PORT");
  if (min > max) {
    throw new AttestorError(
      "bad-config",
      `PLUGIN_MIN_PORT value of ${min} is greater than PLUGIN_MAX_PORT value of ${max}`,
    );
  }
  return { min, max };
}

/**
 * Resolves `PLUGIN_UNIX_SOCKET_GROUP` (a gid or a group name from `/etc/group`).
 *
 * @param group The variable's value.
 * @returns The numeric gid.
 * @throws {AttestorError} `bad-config` when the group does not exist.
 */
export async function resolveGroup(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  let text = "";
  try {
    text = await Deno.readTextFile("/etc/group");
  } catch (err) {
    throw new AttestorError(
      "bad-config",
      `PLUGIN_UNIX_SOCKET_GROUP "${group}": cannot read /etc/group: ${(err as Error).message}`,
    );
  }
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new AttestorError("bad-config", `PLUGIN_UNIX_SOCKET_GROUP: no group named "${group}"`);
}

function listenOn(server: net.Server, target: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    if (typeof target === "string") server.listen(target);
    else server.listen(target.port, target.host);
  });
}

async function removeQuietly(path: string, logger: Logger): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      logger.warn("could not remove the plugin socket directory", { path, error: (err as Error).message });
    }
  }
}

/**
 * Creates the listener and starts accepting connections. Call it **before** printing the handshake line.
 *
 * @example Listening on a unix socket
 * ```ts ignore
 * import { listen } from "./listener.ts";
 * import { nullLogger } from "../log.ts";
 * const l = await listen({ transport: "unix", getenv: Deno.env.get, onConnection: () => {}, logger: nullLogger });
 * console.log(`1|1|${l.network}|${l.address}|grpc|`);
 * await l.close();
 * ```
 *
 * @param options Transport, environment, connection sink, logger.
 * @returns The listener.
 * @throws {AttestorError} `bad-config` for a bad `PLUGIN_*` variable or a socket path that is too long,
 *   `listen-failed` when no address can be bound.
 */
export async function listen(options: ListenOptions): Promise<PluginListener> {
  const { transport, getenv, logger } = options;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", (err) => logger.debug("host connection error", { error: err.message }));
    socket.on("close", () => {
      sockets.delete(socket);
      options.onConnectionCountChange?.(sockets.size);
    });
    options.onConnectionCountChange?.(sockets.size);
    options.onConnection(socket);
  });

  let network: Transport;
  let address: string;
  let socketDir: string | null = null;
  if (transport === "unix") {
    const base = getenv("PLUGIN_UNIX_SOCKET_DIR") || getenv("TMPDIR") || "/tmp";
    try {
      socketDir = await Deno.makeTempDir({ dir: base, prefix: "plugin" });
      await Deno.chmod(socketDir, 0o700);
    } catch (err) {
      if (socketDir) await removeQuietly(socketDir, logger);
      throw new AttestorError(
        "listen-failed",
        `cannot create the plugin socket directory under ${base}: ${(err as Error).message}`,
      );
    }
    address = join(socketDir, `plugin${randomDigits()}`);
    if (new TextEncoder().encode(address).length > MAX_SOCKET_PATH_BYTES) {
      await removeQuietly(socketDir, logger);
      throw new AttestorError(
        "bad-config",
        `the socket path ${address} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; ` +
          `set PLUGIN_UNIX_SOCKET_DIR or TMPDIR to a shorter directory`,
      );
    }
    try {
      await listenOn(server, address);
      const group = getenv("PLUGIN_UNIX_SOCKET_GROUP");
      if (group) {
        const gid = await resolveGroup(group);
        await Deno.chown(address, null, gid);
        await Deno.chmod(address, 0o660);
        await Deno.chown(socketDir, null, gid);
        await Deno.chmod(socketDir, 0o710);
      }
    } catch (err) {
      server.close();
      await removeQuietly(socketDir, logger);
      if (err instanceof AttestorError) throw err;
      throw new AttestorError("listen-failed", `cannot listen on ${address}: ${(err as Error).message}`);
    }
    network = "unix";
  } else {
    const { min, max } = portRange(getenv);
    let bound: number | null = null;
    let lastError = "";
    for (let port = min; port <= max && bound === null; port++) {
      try {
        await listenOn(server, { host: "127.0.0.1", port });
        const info = server.address();
        bound = typeof info === "object" && info !== null ? info.port : port;
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    if (bound === null) {
      throw new AttestorError(
        "listen-failed",
        `couldn't bind plugin TCP listener on 127.0.0.1 ports ${min}-${max}: ${lastError}`,
      );
    }
    network = "tcp";
    address = `127.0.0.1:${bound}`;
  }
  server.on("error", (err) => logger.error("plugin listener error", { error: err.message }));

  let closing: Promise<void> | null = null;
  return {
    network,
    address,
    socketDir,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
        if (socketDir) await removeQuietly(socketDir, logger);
      })();
      return closing;
    },
  };
}
